{
  "targets": [
    {
      "target_name": "pthnet_native",
      "sources": ["addon.c", "napi_args.c", "pool.c", "gemm.c", "kernels.c"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-std=gnu11", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno", "-pthread"],
      "ldflags": ["-pthread"],
      "libraries": ["-lopenblas", "-lm"]
    }
  ]
}
