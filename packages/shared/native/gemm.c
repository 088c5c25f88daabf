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
#include <stdlib.h>

#include "addon.h"
#include "napi_args.h"

/* Below this many multiply-adds a product is not worth splitting across threads. */
#define SPLIT_MIN_MACS (1u << 20)

typedef struct {
  bool trans_a, trans_b;
  uint32_t batch, m, n, k, stride_a, stride_b;
  const float *a, *b, *bias;
  const float* row_scale; /* NULL, or one factor per output row (of product 0; batch 1 only) */
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
  if (job->row_scale != NULL) {
    for (uint32_t r = 0; r < rows; r++) {
      const float s = job->row_scale[row0 + r];
      for (uint32_t col = 0; col < cols; col++) c[(uint64_t)r * n + col] *= s;
    }
  }
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

/* Runs `job` (sizes already checked) over the pool: whole products, or blocks of rows or columns. */
static void gemm_run(pool_t* pool, gemm_job* job) {
  if (job->m == 0 || job->n == 0 || job->batch == 0) return;
  const uint64_t macs = (uint64_t)job->batch * job->m * job->n * (job->k == 0 ? 1 : job->k);
  const int threads = pool_threads(pool);
  if (threads == 1 || macs < SPLIT_MIN_MACS) {
    job->split = 0;
    gemm_task(job, 0, 0, job->batch);
  } else if (job->batch >= (uint32_t)threads * 4 && job->row_scale == NULL) {
    job->split = 0;
    pool_run(pool, job->batch, 1, gemm_task, job);
  } else if (job->m >= job->n || job->row_scale != NULL) {
    job->split = 1;
    pool_run(pool, (job->m + BLOCK - 1) / BLOCK, 1, gemm_task, job);
  } else {
    job->split = 2;
    pool_run(pool, (job->n + BLOCK - 1) / BLOCK, 1, gemm_task, job);
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
  const f32_arg_t arrays[] = {F32_IN("a", a), F32_IN("b", b), F32_OUT("out", out), F32_IN_OPT("bias", bias)};
  if (!fits(&args, "a", a.length, batch, stride_a, mk) || !fits(&args, "b", b.length, batch, stride_b, kn) ||
      !fits(&args, "out", out.length, batch, mn, mn) || (bias.data != NULL && !fits(&args, "bias", bias.length, 1, 0, n)) ||
      !expect_outputs_disjoint(&args, arrays, F32_COUNT(arrays))) {
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
  gemm_run(pool, &job);
  return NULL;
}

/* ---------- PTH-Net's 1x1 convs: y = (x W + bias) * mask, and the three gradients at once ---------- */

typedef struct {
  const float *dy, *mask;
  float* dym; /* dy * mask, or NULL */
  float* db;
  uint32_t rows, cols;
} colsum_job;

/* dym = dy * mask (rows [begin, end)). */
static void mask_rows_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const colsum_job* job = ctx;
  for (size_t r = begin; r < end; r++) {
    const float m = job->mask[r];
    const float* dy = job->dy + r * job->cols;
    float* out = job->dym + r * job->cols;
    for (uint32_t c = 0; c < job->cols; c++) out[c] = dy[c] * m;
  }
}

/* db[c] = sum over rows of dy[r, c], in row order, in double, for the columns [begin, end). */
static void colsum_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const colsum_job* job = ctx;
  double acc[256];
  for (size_t c0 = begin; c0 < end; c0 += 256) {
    const size_t w = end - c0 < 256 ? end - c0 : 256;
    for (size_t c = 0; c < w; c++) acc[c] = 0;
    for (uint32_t r = 0; r < job->rows; r++) {
      const float* dy = job->dy + (size_t)r * job->cols + c0;
      for (size_t c = 0; c < w; c++) acc[c] += (double)dy[c];
    }
    for (size_t c = 0; c < w; c++) job->db[c0 + c] = (float)acc[c];
  }
}

/* jobs[part], whole, in this thread. */
static void gemm_pair_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)begin;
  (void)end;
  gemm_job* job = (gemm_job*)ctx + part;
  job->split = 0;
  gemm_task(job, 0, 0, job->batch);
}

static bool linear_shape(args_t* args, size_t first, uint32_t* rows, uint32_t* k, uint32_t* n) {
  return arg_size(args, first, "rows", rows) && arg_size(args, first + 1, "K", k) && arg_size(args, first + 2, "N", n);
}

/* linear(x, w, bias | null, mask | null, out, rows, K, N): out [rows, N] = (x [rows, K] w [K, N] + bias) * mask[row] */
static napi_value Linear(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "linear", 8, &args)) return NULL;
  f32_t x, w, bias, mask, out;
  const f32_arg_t arrays[] = {F32_IN("x", x), F32_IN("weight", w), F32_IN_OPT("bias", bias), F32_IN_OPT("mask", mask), F32_OUT("out", out)};
  uint32_t rows, k, n;
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !linear_shape(&args, F32_COUNT(arrays), &rows, &k, &n)) return NULL;
  const uint64_t lengths[] = {(uint64_t)rows * k, (uint64_t)k * n, n, rows, (uint64_t)rows * n};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  gemm_job job = {.batch = 1, .m = rows, .n = n, .k = k, .a = x.data, .b = w.data, .bias = bias.data, .row_scale = mask.data, .out = out.data};
  gemm_run(pool, &job);
  return NULL;
}

/*
 * linearGrad(dy, x, w, mask | null, dx | null, dw, db | null, rows, K, N): with g = dy * mask,
 * dx = g w^T, dw = x^T g, db = column sums of g.
 */
static napi_value LinearGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "linearGrad", 10, &args)) return NULL;
  f32_t dy, x, w, mask, dx, dw, db;
  const f32_arg_t arrays[] = {F32_IN("dy", dy),      F32_IN("x", x),         F32_IN("weight", w),      F32_IN_OPT("mask", mask),
                              F32_OUT_OPT("dx", dx), F32_OUT("dweight", dw), F32_OUT_OPT("dbias", db)};
  uint32_t rows, k, n;
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !linear_shape(&args, F32_COUNT(arrays), &rows, &k, &n)) return NULL;
  const uint64_t lengths[] = {(uint64_t)rows * n, (uint64_t)rows * k, (uint64_t)k * n, rows, (uint64_t)rows * k, (uint64_t)k * n, n};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  const float* g = dy.data;
  float* masked = NULL;
  if (mask.data != NULL) {
    masked = malloc((size_t)rows * n * sizeof(float) + 1);
    if (masked == NULL) {
      napi_throw_error(env, NULL, "pthnet_native: linearGrad: out of memory");
      return NULL;
    }
    colsum_job mj = {.dy = dy.data, .mask = mask.data, .dym = masked, .rows = rows, .cols = n};
    pool_run(pool, rows, 16384 / (n == 0 ? 1 : n) + 1, mask_rows_task, &mj);
    g = masked;
  }
  gemm_job jobs[2] = {
      {.trans_a = true, .batch = 1, .m = k, .n = n, .k = rows, .a = x.data, .b = g, .out = dw.data},
      {.trans_b = true, .batch = 1, .m = rows, .n = k, .k = n, .a = g, .b = w.data, .out = dx.data},
  };
  if (dx.data != NULL && pool_threads(pool) == 2) {
    /* the two products have the same size: one per thread, each whole, beats splitting both */
    pool_run(pool, 2, 1, gemm_pair_task, jobs);
  } else {
    gemm_run(pool, &jobs[0]);
    if (dx.data != NULL) gemm_run(pool, &jobs[1]);
  }
  if (db.data != NULL) {
    colsum_job cj = {.dy = g, .db = db.data, .rows = rows, .cols = n};
    pool_run(pool, n, 64, colsum_task, &cj);
  }
  free(masked);
  return NULL;
}

napi_status register_gemm(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"linear", NULL, Linear, NULL, NULL, NULL, napi_default, NULL},
      {"linearGrad", NULL, LinearGrad, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
