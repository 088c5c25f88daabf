/*
 * OpenBLAS's sgemm for the wasm backend's matMul kernels (see
 * packages/shared/src/backend/native-gemm.ts). It reads and writes Float32Array views straight
 * in place (views into the wasm heap): no copies. Every size is checked against the views'
 * lengths before OpenBLAS touches memory, so a wrong call throws instead of writing out of bounds.
 *
 * OpenBLAS runs single-threaded; the addon's own pool splits each product into row (or column)
 * blocks, one sgemm call per thread, so one set of threads serves every native kernel.
 */
#include <cblas.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "addon.h"
#include "napi_args.h"

/* Below this many multiply-adds a product is not worth splitting across threads. */
#define SPLIT_MIN_MACS (1u << 20)

typedef struct {
  bool trans_a, trans_b;
  uint32_t batch, m, n, k, stride_a, stride_b;
  const float *a, *b, *bias;
  float* out;
  int split; /* 0: products, 1: rows, 2: columns */
} gemm_job;

/* out rows [row0, row1) and columns [col0, col1) of product i. */
static void gemm_block(const gemm_job* job, uint32_t i, uint32_t row0, uint32_t row1, uint32_t col0, uint32_t col1) {
  const uint32_t m = job->m, n = job->n, k = job->k;
  if (row1 <= row0 || col1 <= col0) return;
  float* c = job->out + (uint64_t)i * m * n + (uint64_t)row0 * n + col0;
  const uint32_t rows = row1 - row0, cols = col1 - col0;
  if (job->bias != NULL) {
    for (uint32_t r = 0; r < rows; r++)
      for (uint32_t col = 0; col < cols; col++) c[(uint64_t)r * n + col] = job->bias[col0 + col];
  }
  if (k == 0) {
    if (job->bias == NULL)
      for (uint32_t r = 0; r < rows; r++)
        for (uint32_t col = 0; col < cols; col++) c[(uint64_t)r * n + col] = 0.0f;
    return;
  }
  const float* a = job->a + (uint64_t)i * job->stride_a;
  const float* b = job->b + (uint64_t)i * job->stride_b;
  /* op(A) rows row0..: A [m, k] row-major (trans: A [k, m]); op(B) columns col0..: B [k, n] (trans: B [n, k]) */
  a += job->trans_a ? row0 : (uint64_t)row0 * k;
  b += job->trans_b ? (uint64_t)col0 * k : col0;
  cblas_sgemm(CblasRowMajor, job->trans_a ? CblasTrans : CblasNoTrans, job->trans_b ? CblasTrans : CblasNoTrans, (int)rows, (int)cols,
              (int)k, 1.0f, a, job->trans_a ? (int)m : (int)k, b, job->trans_b ? (int)k : (int)n, job->bias != NULL ? 1.0f : 0.0f, c,
              (int)n);
}

/* Blocks of 16 rows or columns, so that each thread's sgemm keeps whole micro-tiles. */
#define BLOCK 16u

static void gemm_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const gemm_job* job = ctx;
  if (job->split == 0) {
    for (size_t i = begin; i < end; i++) gemm_block(job, (uint32_t)i, 0, job->m, 0, job->n);
    return;
  }
  const uint32_t extent = job->split == 1 ? job->m : job->n;
  uint32_t lo = (uint32_t)begin * BLOCK, hi = (uint32_t)end * BLOCK;
  if (hi > extent) hi = extent;
  for (uint32_t i = 0; i < job->batch; i++) {
    if (job->split == 1)
      gemm_block(job, i, lo, hi, 0, job->n);
    else
      gemm_block(job, i, 0, job->m, lo, hi);
  }
}

static bool fits(args_t* args, const char* name, size_t length, uint64_t batches, uint64_t stride, uint64_t matrix) {
  uint64_t needed = batches == 0 ? 0 : (batches - 1) * stride + matrix;
  if ((uint64_t)length < needed) {
    char message[160];
    snprintf(message, sizeof message, "%s: expected at least %llu values, got %zu", name, (unsigned long long)needed, length);
    return fail_range(args, message);
  }
  return true;
}

/*
 * gemm(transA, transB, batch, M, N, K, a, strideA, b, strideB, out, bias | null)
 * For each of `batch` row-major products: out[i] = op(a[i]) op(b[i]) (+ bias on every row),
 * op(a) [M, K], op(b) [K, N]; a stride of 0 repeats one matrix for every product (broadcast).
 */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "gemm", 12, &args)) return NULL;
  gemm_job job = {0};
  uint32_t batch, m, n, k, stride_a, stride_b;
  f32_t a, b, out, bias;
  if (!arg_bool(&args, 0, "transA", &job.trans_a) || !arg_bool(&args, 1, "transB", &job.trans_b) ||
      !arg_size(&args, 2, "batch", &batch) || !arg_size(&args, 3, "M", &m) || !arg_size(&args, 4, "N", &n) ||
      !arg_size(&args, 5, "K", &k) || !arg_f32(&args, 6, "a", false, &a) || !arg_size(&args, 7, "strideA", &stride_a) ||
      !arg_f32(&args, 8, "b", false, &b) || !arg_size(&args, 9, "strideB", &stride_b) || !arg_f32(&args, 10, "out", false, &out) ||
      !arg_f32(&args, 11, "bias", true, &bias)) {
    return NULL;
  }
  const uint64_t mk = (uint64_t)m * k, kn = (uint64_t)k * n, mn = (uint64_t)m * n;
  const f32_t* inputs[] = {&a, &b, &bias};
  if (!fits(&args, "a", a.length, batch, stride_a, mk) || !fits(&args, "b", b.length, batch, stride_b, kn) ||
      !fits(&args, "out", out.length, batch, mn, mn) || (bias.data != NULL && !fits(&args, "bias", bias.length, 1, 0, n)) ||
      !expect_disjoint(&args, "out", &out, inputs, 3)) {
    return NULL;
  }
  if (m == 0 || n == 0 || batch == 0) return NULL; /* an empty product: nothing to write */
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.batch = batch;
  job.m = m;
  job.n = n;
  job.k = k;
  job.a = a.data;
  job.stride_a = stride_a;
  job.b = b.data;
  job.stride_b = stride_b;
  job.out = out.data;
  job.bias = bias.data;
  const uint64_t macs = (uint64_t)batch * mn * (k == 0 ? 1 : k);
  const int threads = pool_threads(pool);
  if (threads == 1 || macs < SPLIT_MIN_MACS) {
    job.split = 0;
    gemm_task(&job, 0, 0, batch);
  } else if (batch >= (uint32_t)threads * 4) {
    job.split = 0;
    pool_run(pool, batch, 1, gemm_task, &job);
  } else if (m >= n) {
    job.split = 1;
    pool_run(pool, (m + BLOCK - 1) / BLOCK, 1, gemm_task, &job);
  } else {
    job.split = 2;
    pool_run(pool, (n + BLOCK - 1) / BLOCK, 1, gemm_task, &job);
  }
  return NULL;
}

napi_status register_gemm(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
