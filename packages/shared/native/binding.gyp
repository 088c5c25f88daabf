{
  "targets": [
    {
      "target_name": "pthnet_gemm",
      "sources": ["gemm.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
