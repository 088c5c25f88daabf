/*
 * Multi-threaded kernels for PTH-Net's layers on float32 arrays, for the wasm backend (see
 * packages/shared/src/backend/native-kernels.ts): they read their inputs and write their outputs
 * in place on the wasm heap. Tensors are [B, T, C] with channels innermost. Every output value is
 * computed by one thread in a fixed order (threads split rows, or channels for the sums over rows),
 * so results do not depend on the thread count. Statistics and sums accumulate in double.
 */
#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "napi_args.h"

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
/* AVX2 where the CPU has it, chosen when the addon loads; the same arithmetic either way (no FMA contraction). */
#define VECTORIZED __attribute__((target_clones("avx2", "default")))
#else
#define VECTORIZED
#endif

/* ---------- shared helpers ---------- */

/* Sum of n floats in double, eight running sums combined in a fixed order. */
static inline double sum_f32(const float* x, size_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) a[j] += (double)x[i + j];
  double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (; i < n; i++) s += (double)x[i];
  return s;
}

/* Sum of (x - mean)^2 over n floats, as sum_f32. */
static inline double sum_sq_dev(const float* x, size_t n, double mean) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) {
      double d = (double)x[i + j] - mean;
      a[j] += d * d;
    }
  double s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (; i < n; i++) {
    double d = (double)x[i] - mean;
    s += d * d;
  }
  return s;
}

/* Rows of a [rows, width] job per part: at least ~16k values, so small jobs stay in one thread. */
static size_t min_rows(size_t width) {
  size_t rows = 16384 / (width == 0 ? 1 : width);
  return rows == 0 ? 1 : rows;
}

static void* scratch(size_t bytes) { return malloc(bytes == 0 ? 1 : bytes); }

/* ---------- group norm (channel norm: S = 1, G = 1) ---------- */

typedef struct {
  const float *x, *w, *b, *dy;
  float *y, *dx, *dw, *db;
  double* stats; /* mean, rstd per (n, g) */
  double* sums;  /* [2, C]: the channel sums of the weight and bias gradients */
  size_t N, S, C, G, Cg;
  double eps;
} norm_job;

/* Mean and 1/sqrt(var + eps) of one sample's group: S rows of Cg values, C apart. */
static inline void group_stats(const norm_job* job, const float* x0, double* mean, double* rstd) {
  const size_t count = job->S * job->Cg;
  double sum = 0;
  for (size_t s = 0; s < job->S; s++) sum += sum_f32(x0 + s * job->C, job->Cg);
  const double m = sum / (double)count;
  double sq = 0;
  for (size_t s = 0; s < job->S; s++) sq += sum_sq_dev(x0 + s * job->C, job->Cg, m);
  *mean = m;
  *rstd = 1.0 / sqrt(sq / (double)count + job->eps);
}

VECTORIZED static void norm_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const norm_job* job = ctx;
  const size_t C = job->C, Cg = job->Cg;
  for (size_t n = begin; n < end; n++) {
    for (size_t g = 0; g < job->G; g++) {
      const size_t base = n * job->S * C + g * Cg;
      double mean, rstd;
      group_stats(job, job->x + base, &mean, &rstd);
      const float* w = job->w + g * Cg;
      const float* b = job->b + g * Cg;
      for (size_t s = 0; s < job->S; s++) {
        const float* x = job->x + base + s * C;
        float* y = job->y + base + s * C;
        for (size_t c = 0; c < Cg; c++) y[c] = (float)(((double)x[c] - mean) * rstd * (double)w[c] + (double)b[c]);
      }
    }
  }
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w, per (sample, group); keeps the statistics. */
VECTORIZED static void norm_backward_rows_task(void* ctx, size_t part, size_t begin, size_t end) {
  const norm_job* job = ctx;
  const size_t C = job->C, Cg = job->Cg, S = job->S;
  const double count = (double)(S * Cg);
  for (size_t n = begin; n < end; n++) {
    for (size_t g = 0; g < job->G; g++) {
      const size_t base = n * S * C + g * Cg;
      double mean, rstd;
      group_stats(job, job->x + base, &mean, &rstd);
      job->stats[2 * (n * job->G + g)] = mean;
      job->stats[2 * (n * job->G + g) + 1] = rstd;
      if (job->dx == NULL) continue;
      const float* w = job->w + g * Cg;
      double sum_g = 0, sum_gx = 0;
      for (size_t s = 0; s < S; s++) {
        const float* x = job->x + base + s * C;
        const float* dy = job->dy + base + s * C;
        double a[4] = {0, 0, 0, 0}, bsum[4] = {0, 0, 0, 0};
        size_t c = 0;
        for (; c + 4 <= Cg; c += 4)
          for (int j = 0; j < 4; j++) {
            const double gv = (double)dy[c + j] * (double)w[c + j];
            a[j] += gv;
            bsum[j] += gv * (((double)x[c + j] - mean) * rstd);
          }
        double ra = (a[0] + a[1]) + (a[2] + a[3]);
        double rb = (bsum[0] + bsum[1]) + (bsum[2] + bsum[3]);
        for (; c < Cg; c++) {
          const double gv = (double)dy[c] * (double)w[c];
          ra += gv;
          rb += gv * (((double)x[c] - mean) * rstd);
        }
        sum_g += ra;
        sum_gx += rb;
      }
      const double mean_g = sum_g / count, mean_gx = sum_gx / count;
      for (size_t s = 0; s < S; s++) {
        const float* x = job->x + base + s * C;
        const float* dy = job->dy + base + s * C;
        float* dx = job->dx + base + s * C;
        for (size_t c = 0; c < Cg; c++) {
          const double xhat = ((double)x[c] - mean) * rstd;
          dx[c] = (float)(rstd * ((double)dy[c] * (double)w[c] - mean_g - xhat * mean_gx));
        }
      }
    }
  }
}

/* dw = sum over rows of dy * xhat, db = sum of dy, for the channels [begin, end). */
VECTORIZED static void norm_backward_channels_task(void* ctx, size_t part, size_t begin, size_t end) {
  const norm_job* job = ctx;
  const size_t C = job->C, Cg = job->Cg, S = job->S, width = end - begin;
  double* acc_w = job->sums + begin;
  double* acc_b = job->sums + C + begin;
  memset(acc_w, 0, width * sizeof(double));
  memset(acc_b, 0, width * sizeof(double));
  for (size_t n = 0; n < job->N; n++) {
    for (size_t s = 0; s < S; s++) {
      const size_t row = (n * S + s) * C;
      for (size_t g = begin / Cg; g * Cg < end; g++) {
        const double mean = job->stats[2 * (n * job->G + g)], rstd = job->stats[2 * (n * job->G + g) + 1];
        const size_t c0 = g * Cg > begin ? g * Cg : begin;
        const size_t c1 = (g + 1) * Cg < end ? (g + 1) * Cg : end;
        const float* x = job->x + row;
        const float* dy = job->dy + row;
        for (size_t c = c0; c < c1; c++) {
          acc_w[c - begin] += (double)dy[c] * (((double)x[c] - mean) * rstd);
          acc_b[c - begin] += (double)dy[c];
        }
      }
    }
  }
  for (size_t c = 0; c < width; c++) {
    if (job->dw != NULL) job->dw[begin + c] = (float)acc_w[c];
    if (job->db != NULL) job->db[begin + c] = (float)acc_b[c];
  }
}

/* Shapes of a norm call: x [N, S, C] in G groups of C / G channels. */
static bool norm_shape(args_t* args, size_t first, norm_job* job) {
  uint32_t N, S, C, G;
  double eps;
  if (!arg_size(args, first, "N", &N) || !arg_size(args, first + 1, "S", &S) || !arg_size(args, first + 2, "C", &C) ||
      !arg_size(args, first + 3, "groups", &G) || !arg_number(args, first + 4, "eps", &eps)) {
    return false;
  }
  if (G == 0 || C % G != 0) return fail_range(args, "groups: expected a divisor of C");
  if (!(eps > 0)) return fail_range(args, "eps: expected a positive number");
  job->N = N;
  job->S = S;
  job->C = C;
  job->G = G;
  job->Cg = C / G;
  job->eps = eps;
  return true;
}

/* groupNorm(x, weight, bias, out, N, S, C, groups, eps) */
static napi_value GroupNorm(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "groupNorm", 9, &args)) return NULL;
  f32_t x, w, b, y;
  const f32_arg_t arrays[] = {F32_IN("x", x), F32_IN("weight", w), F32_IN("bias", b), F32_OUT("out", y)};
  norm_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !norm_shape(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.N * job.S * job.C;
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){size, job.C, job.C, size})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.x = x.data;
  job.w = w.data;
  job.b = b.data;
  job.y = y.data;
  pool_run(pool, job.N, min_rows(job.S * job.C), norm_forward_task, &job);
  return NULL;
}

/* groupNormGrad(dy, x, weight, dx | null, dweight, dbias, N, S, C, groups, eps) */
static napi_value GroupNormGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "groupNormGrad", 11, &args)) return NULL;
  f32_t dy, x, w, dx, dw, db;
  const f32_arg_t arrays[] = {F32_IN("dy", dy),           F32_IN("x", x),           F32_IN("weight", w),
                              F32_OUT_OPT("dx", dx),      F32_OUT("dweight", dw),   F32_OUT("dbias", db)};
  norm_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !norm_shape(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.N * job.S * job.C;
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){size, size, job.C, size, job.C, job.C})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.dy = dy.data;
  job.x = x.data;
  job.w = w.data;
  job.dx = dx.data;
  job.dw = dw.data;
  job.db = db.data;
  job.stats = scratch((2 * (size_t)job.N * job.G + 2 * (size_t)job.C) * sizeof(double));
  if (job.stats == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: groupNormGrad: out of memory");
    return NULL;
  }
  job.sums = job.stats + 2 * (size_t)job.N * job.G;
  pool_run(pool, job.N, min_rows(job.S * job.C), norm_backward_rows_task, &job);
  pool_run(pool, job.C, 64, norm_backward_channels_task, &job);
  free(job.stats);
  return NULL;
}

/* ---------- depthwise conv along time ---------- */

typedef struct {
  const float *x, *w, *bias, *mask, *dy;
  float *y, *dx, *dw, *db;
  double* sums; /* [K + 1, C]: the channel sums of the weight and bias gradients */
  size_t B, T, C, K;
} dw_job;

/* y[b, t] = mask[b, t] * (sum_j w[j] * x[b, t + j - K/2] + bias), zero outside the sequence. */
VECTORIZED static void dw_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const dw_job* job = ctx;
  const size_t C = job->C, T = job->T, K = job->K, half = K / 2;
  for (size_t r = begin; r < end; r++) {
    const size_t b = r / T, t = r % T;
    float* y = job->y + r * C;
    for (size_t c = 0; c < C; c++) y[c] = 0.0f;
    for (size_t j = 0; j < K; j++) {
      if (t + j < half || t + j - half >= T) continue;
      const float* x = job->x + (b * T + t + j - half) * C;
      const float* w = job->w + j * C;
      for (size_t c = 0; c < C; c++) y[c] += w[c] * x[c];
    }
    if (job->bias != NULL)
      for (size_t c = 0; c < C; c++) y[c] += job->bias[c];
    if (job->mask != NULL) {
      const float m = job->mask[r];
      for (size_t c = 0; c < C; c++) y[c] *= m;
    }
  }
}

/* dx[b, s] = sum_j w[j] * (dy * mask)[b, s - j + K/2]. */
VECTORIZED static void dw_backward_rows_task(void* ctx, size_t part, size_t begin, size_t end) {
  const dw_job* job = ctx;
  const size_t C = job->C, T = job->T, K = job->K, half = K / 2;
  for (size_t r = begin; r < end; r++) {
    const size_t b = r / T, s = r % T;
    float* dx = job->dx + r * C;
    for (size_t c = 0; c < C; c++) dx[c] = 0.0f;
    for (size_t j = 0; j < K; j++) {
      if (s + half < j || s + half - j >= T) continue;
      const size_t t = s + half - j;
      const float m = job->mask != NULL ? job->mask[b * T + t] : 1.0f;
      const float* dy = job->dy + (b * T + t) * C;
      const float* w = job->w + j * C;
      for (size_t c = 0; c < C; c++) dx[c] += w[c] * (dy[c] * m);
    }
  }
}

/* dw[j] = sum over (b, t) of (dy * mask)[b, t] * x[b, t + j - K/2], db = sum of dy * mask, channels [begin, end). */
VECTORIZED static void dw_backward_channels_task(void* ctx, size_t part, size_t begin, size_t end) {
  const dw_job* job = ctx;
  const size_t C = job->C, T = job->T, K = job->K, half = K / 2, width = end - begin;
  for (size_t j = 0; j <= K; j++) memset(job->sums + j * C + begin, 0, width * sizeof(double));
  for (size_t b = 0; b < job->B; b++) {
    for (size_t t = 0; t < T; t++) {
      const float m = job->mask != NULL ? job->mask[b * T + t] : 1.0f;
      const float* dy = job->dy + (b * T + t) * C + begin;
      for (size_t j = 0; j < K; j++) {
        if (t + j < half || t + j - half >= T) continue;
        const float* x = job->x + (b * T + t + j - half) * C + begin;
        double* a = job->sums + j * C + begin;
        for (size_t c = 0; c < width; c++) a[c] += (double)(dy[c] * m) * (double)x[c];
      }
      double* a = job->sums + K * C + begin;
      for (size_t c = 0; c < width; c++) a[c] += (double)(dy[c] * m);
    }
  }
  for (size_t j = 0; j < K; j++)
    for (size_t c = begin; c < end; c++) job->dw[j * C + c] = (float)job->sums[j * C + c];
  if (job->db != NULL)
    for (size_t c = begin; c < end; c++) job->db[c] = (float)job->sums[K * C + c];
}

static bool dw_shape(args_t* args, size_t first, dw_job* job) {
  uint32_t B, T, C, K;
  if (!arg_size(args, first, "B", &B) || !arg_size(args, first + 1, "T", &T) || !arg_size(args, first + 2, "C", &C) ||
      !arg_size(args, first + 3, "K", &K)) {
    return false;
  }
  if (K % 2 != 1) return fail_range(args, "K: expected an odd kernel size");
  job->B = B;
  job->T = T;
  job->C = C;
  job->K = K;
  return true;
}

/* depthwise(x, weight, bias | null, mask | null, out, B, T, C, K) */
static napi_value Depthwise(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "depthwise", 9, &args)) return NULL;
  f32_t x, w, bias, mask, y;
  const f32_arg_t arrays[] = {F32_IN("x", x), F32_IN("weight", w), F32_IN_OPT("bias", bias), F32_IN_OPT("mask", mask), F32_OUT("out", y)};
  dw_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !dw_shape(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C;
  const uint64_t lengths[] = {size, (uint64_t)job.K * job.C, job.C, (uint64_t)job.B * job.T, size};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.x = x.data;
  job.w = w.data;
  job.bias = bias.data;
  job.mask = mask.data;
  job.y = y.data;
  pool_run(pool, job.B * job.T, min_rows(job.C * job.K), dw_forward_task, &job);
  return NULL;
}

/* depthwiseGrad(dy, x, weight, mask | null, dx | null, dweight, dbias | null, B, T, C, K) */
static napi_value DepthwiseGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "depthwiseGrad", 11, &args)) return NULL;
  f32_t dy, x, w, mask, dx, dw, db;
  const f32_arg_t arrays[] = {F32_IN("dy", dy),         F32_IN("x", x),         F32_IN("weight", w),      F32_IN_OPT("mask", mask),
                              F32_OUT_OPT("dx", dx),    F32_OUT("dweight", dw), F32_OUT_OPT("dbias", db)};
  dw_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !dw_shape(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C, taps = (uint64_t)job.K * job.C;
  const uint64_t lengths[] = {size, size, taps, (uint64_t)job.B * job.T, size, taps, job.C};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.sums = scratch(((size_t)job.K + 1) * job.C * sizeof(double));
  if (job.sums == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: depthwiseGrad: out of memory");
    return NULL;
  }
  job.dy = dy.data;
  job.x = x.data;
  job.w = w.data;
  job.mask = mask.data;
  job.dx = dx.data;
  job.dw = dw.data;
  job.db = db.data;
  if (job.dx != NULL) pool_run(pool, job.B * job.T, min_rows(job.C * job.K), dw_backward_rows_task, &job);
  pool_run(pool, job.C, 64, dw_backward_channels_task, &job);
  free(job.sums);
  return NULL;
}

/* ---------- multi-head attention over time ---------- */

typedef struct {
  const float *q, *k, *v, *mask, *dout;
  float *out, *dq, *dk, *dv;
  size_t B, T, C, H, D;
  float scale;
  char* scratch; /* per part: qs [T, D], P [T, T], dS [T, T] */
  size_t scratch_bytes;
} att_job;

static size_t att_part_bytes(size_t T, size_t D) { return ((T * D + 2 * T * T) * sizeof(float) + 63) / 64 * 64; }

/* exp to about 2 ulp for arguments <= 0 (Cephes' expf: x = n ln2 + r, a degree-6 polynomial in r, times 2^n). */
static inline float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float n = floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* a . b over n floats: eight running sums (one vector) combined in a fixed order. */
static inline float dot_f32(const float* a, const float* b, size_t n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) lane[j] += a[i + j] * b[i + j];
  float sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

/* acc[0..n) += w * x[0..n) */
static inline void axpy_f32(float* acc, float w, const float* x, size_t n) {
  for (size_t i = 0; i < n; i++) acc[i] += w * x[i];
}

/* Scaled queries qs [T, D] and probabilities P [T, T] of head h of sample b; masked keys get 0. */
static inline void att_probabilities(const att_job* job, size_t b, size_t h, float* qs, float* P) {
  const size_t T = job->T, C = job->C, D = job->D;
  for (size_t t = 0; t < T; t++) {
    const float* q = job->q + (b * T + t) * C + h * D;
    for (size_t d = 0; d < D; d++) qs[t * D + d] = q[d] * job->scale;
  }
  for (size_t t = 0; t < T; t++) {
    float* p = P + t * T;
    float max = -INFINITY;
    for (size_t s = 0; s < T; s++) {
      if (job->mask[b * T + s] == 0.0f) {
        p[s] = -INFINITY;
        continue;
      }
      p[s] = dot_f32(qs + t * D, job->k + (b * T + s) * C + h * D, D);
      if (p[s] > max) max = p[s];
    }
    /* every key masked: NaN, as the reference's softmax over -inf */
    for (size_t s = 0; s < T; s++) p[s] = p[s] == -INFINITY && max != -INFINITY ? 0.0f : exp_nonpositive(p[s] - max);
    float sum = 0;
    for (size_t s = 0; s < T; s++) sum += p[s];
    for (size_t s = 0; s < T; s++) p[s] = p[s] / sum;
  }
}

VECTORIZED static void att_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const att_job* job = ctx;
  const size_t T = job->T, C = job->C, D = job->D;
  float* qs = (float*)(job->scratch + part * job->scratch_bytes);
  float* P = qs + T * D;
  for (size_t item = begin; item < end; item++) {
    const size_t b = item / job->H, h = item % job->H;
    att_probabilities(job, b, h, qs, P);
    for (size_t t = 0; t < T; t++) {
      float* out = job->out + (b * T + t) * C + h * D;
      for (size_t d = 0; d < D; d++) out[d] = 0.0f;
      for (size_t s = 0; s < T; s++) {
        const float m = job->mask[b * T + s];
        /* masked values are zero: skip them (their P is 0 too, unless every key is masked) */
        if (m == 0.0f && P[t * T + s] == 0.0f) continue;
        const float* v = job->v + (b * T + s) * C + h * D;
        const float p = P[t * T + s] * m;
        axpy_f32(out, p, v, D);
      }
    }
  }
}

VECTORIZED static void att_backward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const att_job* job = ctx;
  const size_t T = job->T, C = job->C, D = job->D;
  float* qs = (float*)(job->scratch + part * job->scratch_bytes);
  float* P = qs + T * D;
  float* dS = P + T * T;
  for (size_t item = begin; item < end; item++) {
    const size_t b = item / job->H, h = item % job->H;
    att_probabilities(job, b, h, qs, P);
    /* dP[t, s] = dout[t] . v[s] * mask[s]; dS = P * (dP - sum_s P dP) */
    for (size_t t = 0; t < T; t++) {
      const float* dout = job->dout + (b * T + t) * C + h * D;
      float rowdot = 0;
      for (size_t s = 0; s < T; s++) {
        const float m = job->mask[b * T + s];
        const float dp = m == 0.0f ? 0.0f : dot_f32(dout, job->v + (b * T + s) * C + h * D, D) * m;
        dS[t * T + s] = dp;
        rowdot += P[t * T + s] * dp;
      }
      for (size_t s = 0; s < T; s++) dS[t * T + s] = P[t * T + s] * (dS[t * T + s] - rowdot);
    }
    /* dv[s] = mask[s] * sum_t P[t, s] dout[t]; dk[s] = sum_t dS[t, s] qs[t] */
    for (size_t s = 0; s < T; s++) {
      const float m = job->mask[b * T + s];
      float* dv = job->dv + (b * T + s) * C + h * D;
      float* dk = job->dk + (b * T + s) * C + h * D;
      for (size_t d = 0; d < D; d++) {
        dv[d] = 0.0f;
        dk[d] = 0.0f;
      }
      for (size_t t = 0; t < T; t++) {
        const float* dout = job->dout + (b * T + t) * C + h * D;
        axpy_f32(dv, P[t * T + s] * m, dout, D);
        axpy_f32(dk, dS[t * T + s], qs + t * D, D);
      }
    }
    /* dq[t] = scale * sum_s dS[t, s] k[s] */
    for (size_t t = 0; t < T; t++) {
      float* dq = job->dq + (b * T + t) * C + h * D;
      for (size_t d = 0; d < D; d++) dq[d] = 0.0f;
      for (size_t s = 0; s < T; s++) axpy_f32(dq, dS[t * T + s], job->k + (b * T + s) * C + h * D, D);
      for (size_t d = 0; d < D; d++) dq[d] *= job->scale;
    }
  }
}

static bool att_shape(args_t* args, size_t first, att_job* job) {
  uint32_t B, T, C, H;
  double scale;
  if (!arg_size(args, first, "B", &B) || !arg_size(args, first + 1, "T", &T) || !arg_size(args, first + 2, "C", &C) ||
      !arg_size(args, first + 3, "heads", &H) || !arg_number(args, first + 4, "scale", &scale)) {
    return false;
  }
  if (H == 0 || C % H != 0) return fail_range(args, "heads: expected a divisor of C");
  job->B = B;
  job->T = T;
  job->C = C;
  job->H = H;
  job->D = C / H;
  job->scale = (float)scale;
  return true;
}

/* Scratch for every part the pool may run; false (thrown) when out of memory. */
static bool att_scratch(napi_env env, pool_t* pool, att_job* job, const char* fn) {
  job->scratch_bytes = att_part_bytes(job->T, job->D);
  job->scratch = scratch(job->scratch_bytes * (size_t)pool_threads(pool));
  if (job->scratch != NULL) return true;
  char message[96];
  snprintf(message, sizeof message, "pthnet_native: %s: out of memory", fn);
  napi_throw_error(env, NULL, message);
  return false;
}

/* attention(q, k, v, mask, out, B, T, C, heads, scale) */
static napi_value Attention(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "attention", 10, &args)) return NULL;
  f32_t q, k, v, mask, out;
  const f32_arg_t arrays[] = {F32_IN("q", q), F32_IN("k", k), F32_IN("v", v), F32_IN("mask", mask), F32_OUT("out", out)};
  att_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !att_shape(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C;
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){size, size, size, (uint64_t)job.B * job.T, size})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL || !att_scratch(env, pool, &job, "attention")) return NULL;
  job.q = q.data;
  job.k = k.data;
  job.v = v.data;
  job.mask = mask.data;
  job.out = out.data;
  pool_run(pool, job.B * job.H, 1, att_forward_task, &job);
  free(job.scratch);
  return NULL;
}

/* attentionGrad(dout, q, k, v, mask, dq, dk, dv, B, T, C, heads, scale) */
static napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "attentionGrad", 13, &args)) return NULL;
  f32_t dout, q, k, v, mask, dq, dk, dv;
  const f32_arg_t arrays[] = {F32_IN("dout", dout), F32_IN("q", q),     F32_IN("k", k),     F32_IN("v", v),
                              F32_IN("mask", mask), F32_OUT("dq", dq), F32_OUT("dk", dk), F32_OUT("dv", dv)};
  att_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !att_shape(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C;
  const uint64_t lengths[] = {size, size, size, size, (uint64_t)job.B * job.T, size, size, size};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL || !att_scratch(env, pool, &job, "attentionGrad")) return NULL;
  job.dout = dout.data;
  job.q = q.data;
  job.k = k.data;
  job.v = v.data;
  job.mask = mask.data;
  job.dq = dq.data;
  job.dk = dk.data;
  job.dv = dv.data;
  pool_run(pool, job.B * job.H, 1, att_backward_task, &job);
  free(job.scratch);
  return NULL;
}

/* ---------- GELU (exact form, erf) ---------- */

/* erf to about 4e-7 absolute: a rational approximation on [-4, 4] (beyond, erf is +-1 in float). */
static inline float erf_approx(float a) {
  const float x = a > 4.0f ? 4.0f : (a < -4.0f ? -4.0f : a);
  const float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  p = x * p;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return p / q;
}

typedef struct {
  const float *x, *dy;
  float *y, *dx;
} gelu_job;

VECTORIZED static void gelu_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const gelu_job* job = ctx;
  const float* x = job->x;
  float* y = job->y;
  for (size_t i = begin; i < end; i++) y[i] = x[i] * (0.5f * (1.0f + erf_approx(x[i] * 0.70710678118654752f)));
}

/* dx = dy * (Phi(x) + x * phi(x)) */
VECTORIZED static void gelu_backward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const gelu_job* job = ctx;
  const float *x = job->x, *dy = job->dy;
  float* dx = job->dx;
  for (size_t i = begin; i < end; i++) {
    const float cdf = 0.5f * (1.0f + erf_approx(x[i] * 0.70710678118654752f));
    const float pdf = exp_nonpositive(-0.5f * x[i] * x[i]) * 0.39894228040143268f;
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}

/* gelu(x, out) */
static napi_value Gelu(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "gelu", 2, &args)) return NULL;
  f32_t x, y;
  const f32_arg_t arrays[] = {F32_IN("x", x), F32_OUT("out", y)};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) ||
      !expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){x.length, x.length})) {
    return NULL;
  }
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  gelu_job job = {.x = x.data, .y = y.data};
  pool_run(pool, x.length, 16384, gelu_forward_task, &job);
  return NULL;
}

/* geluGrad(dy, x, dx) */
static napi_value GeluGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "geluGrad", 3, &args)) return NULL;
  f32_t dy, x, dx;
  const f32_arg_t arrays[] = {F32_IN("dy", dy), F32_IN("x", x), F32_OUT("dx", dx)};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) ||
      !expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){x.length, x.length, x.length})) {
    return NULL;
  }
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  gelu_job job = {.x = x.data, .dy = dy.data, .dx = dx.data};
  pool_run(pool, x.length, 16384, gelu_backward_task, &job);
  return NULL;
}

/* ---------- the taps of a full conv along time ---------- */

typedef struct {
  const float *taps, *mask, *dout;
  float *out, *dtaps;
  size_t B, T, C, K;
} taps_job;

/* out[b, t] = mask[b, t] * sum_j taps[b, t + j - K/2, tap j]; taps rows hold K blocks of C. */
VECTORIZED static void taps_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const taps_job* job = ctx;
  const size_t C = job->C, T = job->T, K = job->K, half = K / 2;
  for (size_t r = begin; r < end; r++) {
    const size_t b = r / T, t = r % T;
    float* out = job->out + r * C;
    for (size_t c = 0; c < C; c++) out[c] = 0.0f;
    for (size_t j = 0; j < K; j++) {
      if (t + j < half || t + j - half >= T) continue;
      const float* tap = job->taps + (b * T + t + j - half) * K * C + j * C;
      for (size_t c = 0; c < C; c++) out[c] += tap[c];
    }
    if (job->mask != NULL) {
      const float m = job->mask[r];
      for (size_t c = 0; c < C; c++) out[c] *= m;
    }
  }
}

/* dtaps[b, s, tap j] = (dout * mask)[b, s - j + K/2], zero outside the sequence. */
VECTORIZED static void taps_backward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const taps_job* job = ctx;
  const size_t C = job->C, T = job->T, K = job->K, half = K / 2;
  for (size_t r = begin; r < end; r++) {
    const size_t b = r / T, s = r % T;
    for (size_t j = 0; j < K; j++) {
      float* dtap = job->dtaps + r * K * C + j * C;
      if (s + half < j || s + half - j >= T) {
        for (size_t c = 0; c < C; c++) dtap[c] = 0.0f;
        continue;
      }
      const size_t t = s + half - j;
      const float m = job->mask != NULL ? job->mask[b * T + t] : 1.0f;
      const float* dout = job->dout + (b * T + t) * C;
      for (size_t c = 0; c < C; c++) dtap[c] = dout[c] * m;
    }
  }
}

/* B, T, C and an odd kernel size K, from `first` on. */
static bool taps_shape(args_t* args, size_t first, uint32_t* B, uint32_t* T, uint32_t* C, uint32_t* K) {
  if (!arg_size(args, first, "B", B) || !arg_size(args, first + 1, "T", T) || !arg_size(args, first + 2, "C", C) ||
      !arg_size(args, first + 3, "K", K)) {
    return false;
  }
  return *K % 2 == 1 || fail_range(args, "K: expected an odd kernel size");
}

/* tapSum(taps, mask | null, out, B, T, C, K) */
static napi_value TapSum(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "tapSum", 7, &args)) return NULL;
  f32_t taps, mask, out;
  const f32_arg_t arrays[] = {F32_IN("taps", taps), F32_IN_OPT("mask", mask), F32_OUT("out", out)};
  uint32_t B, T, C, K;
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !taps_shape(&args, F32_COUNT(arrays), &B, &T, &C, &K)) return NULL;
  const uint64_t size = (uint64_t)B * T * C;
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){size * K, (uint64_t)B * T, size})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  taps_job job = {.taps = taps.data, .mask = mask.data, .out = out.data, .B = B, .T = T, .C = C, .K = K};
  pool_run(pool, (size_t)B * T, min_rows((size_t)C * K), taps_forward_task, &job);
  return NULL;
}

/* tapSumGrad(dout, mask | null, dtaps, B, T, C, K) */
static napi_value TapSumGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "tapSumGrad", 7, &args)) return NULL;
  f32_t dout, mask, dtaps;
  const f32_arg_t arrays[] = {F32_IN("dout", dout), F32_IN_OPT("mask", mask), F32_OUT("dtaps", dtaps)};
  uint32_t B, T, C, K;
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !taps_shape(&args, F32_COUNT(arrays), &B, &T, &C, &K)) return NULL;
  const uint64_t size = (uint64_t)B * T * C;
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){size, (uint64_t)B * T, size * K})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  taps_job job = {.dout = dout.data, .mask = mask.data, .dtaps = dtaps.data, .B = B, .T = T, .C = C, .K = K};
  pool_run(pool, (size_t)B * T, min_rows((size_t)C * K), taps_backward_task, &job);
  return NULL;
}

/* ---------- max-pool along time: kernel 3, stride 2, padding 1 ---------- */

typedef struct {
  const float *x, *dy;
  float *y, *dx;
  size_t B, T, C;
  float* best;   /* backward, per part: [C] running maxima */
  uint32_t* arg; /* backward, per part: [C] their steps */
} pool_job;

/*
 * Output step i of sample b is the max of steps 2i-1, 2i, 2i+1 (those inside the sequence); ties go
 * to the earliest step and a NaN wins, as in PyTorch's max_pool1d. Returns the winning step per channel
 * through `arg` (when not NULL) and the values through `out`.
 */
static inline void pool_step(const pool_job* job, size_t b, size_t i, float* out, uint32_t* arg) {
  const size_t T = job->T, C = job->C;
  const size_t first = i == 0 ? 0 : 2 * i - 1;
  const size_t last = 2 * i + 1 < T ? 2 * i + 1 : T - 1;
  const float* x0 = job->x + (b * T + first) * C;
  for (size_t c = 0; c < C; c++) {
    out[c] = x0[c];
    if (arg != NULL) arg[c] = (uint32_t)first;
  }
  for (size_t t = first + 1; t <= last; t++) {
    const float* x = job->x + (b * T + t) * C;
    for (size_t c = 0; c < C; c++) {
      const bool wins = x[c] > out[c] || (x[c] != x[c] && out[c] == out[c]);
      out[c] = wins ? x[c] : out[c];
      if (arg != NULL) arg[c] = wins ? (uint32_t)t : arg[c];
    }
  }
}

VECTORIZED static void pool_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const pool_job* job = ctx;
  const size_t half = (job->T + 1) / 2;
  for (size_t b = begin; b < end; b++)
    for (size_t i = 0; i < half; i++) pool_step(job, b, i, job->y + (b * half + i) * job->C, NULL);
}

/*
 * dx[b, argmax] += dy[b, i], output steps in order; a sample's steps all in one thread. Each
 * output's window adds dy where its winner is the step and 0 elsewhere (no scatter: vectorized).
 */
VECTORIZED static void pool_backward_task(void* ctx, size_t part, size_t begin, size_t end) {
  const pool_job* job = ctx;
  const size_t T = job->T, C = job->C, half = (T + 1) / 2;
  float* best = job->best + part * C;
  uint32_t* arg = job->arg + part * C;
  for (size_t b = begin; b < end; b++) {
    memset(job->dx + b * T * C, 0, T * C * sizeof(float));
    for (size_t i = 0; i < half; i++) {
      pool_step(job, b, i, best, arg);
      const float* dy = job->dy + (b * half + i) * C;
      const size_t first = i == 0 ? 0 : 2 * i - 1;
      const size_t last = 2 * i + 1 < T ? 2 * i + 1 : T - 1;
      for (size_t t = first; t <= last; t++) {
        float* dx = job->dx + (b * T + t) * C;
        const uint32_t step = (uint32_t)t;
        for (size_t c = 0; c < C; c++) dx[c] += arg[c] == step ? dy[c] : 0.0f;
      }
    }
  }
}

static bool arg_btc(args_t* args, size_t first, uint32_t* B, uint32_t* T, uint32_t* C) {
  return arg_size(args, first, "B", B) && arg_size(args, first + 1, "T", T) && arg_size(args, first + 2, "C", C);
}

/* maxPool(x, out, B, T, C): out [B, ceil(T / 2), C] */
static napi_value MaxPool(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "maxPool", 5, &args)) return NULL;
  f32_t x, y;
  const f32_arg_t arrays[] = {F32_IN("x", x), F32_OUT("out", y)};
  uint32_t B, T, C;
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !arg_btc(&args, F32_COUNT(arrays), &B, &T, &C)) return NULL;
  const uint64_t lengths[] = {(uint64_t)B * T * C, (uint64_t)B * ((T + 1) / 2) * C};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  pool_job job = {.x = x.data, .y = y.data, .B = B, .T = T, .C = C};
  pool_run(pool, B, min_rows((size_t)T * C), pool_forward_task, &job);
  return NULL;
}

/* maxPoolGrad(dy, x, dx, B, T, C) */
static napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "maxPoolGrad", 6, &args)) return NULL;
  f32_t dy, x, dx;
  const f32_arg_t arrays[] = {F32_IN("dy", dy), F32_IN("x", x), F32_OUT("dx", dx)};
  uint32_t B, T, C;
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !arg_btc(&args, F32_COUNT(arrays), &B, &T, &C)) return NULL;
  const uint64_t lengths[] = {(uint64_t)B * ((T + 1) / 2) * C, (uint64_t)B * T * C, (uint64_t)B * T * C};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  const size_t parts = (size_t)pool_threads(pool);
  pool_job job = {.dy = dy.data, .x = x.data, .dx = dx.data, .B = B, .T = T, .C = C};
  job.best = scratch(parts * C * sizeof(float));
  job.arg = scratch(parts * C * sizeof(uint32_t));
  if (job.best == NULL || job.arg == NULL) {
    free(job.best);
    free(job.arg);
    napi_throw_error(env, NULL, "pthnet_native: maxPoolGrad: out of memory");
    return NULL;
  }
  pool_run(pool, B, min_rows((size_t)T * C), pool_backward_task, &job);
  free(job.best);
  free(job.arg);
  return NULL;
}

/* ---------- SGD with PyTorch's momentum and weight decay ---------- */

typedef struct {
  const float *p, *g;
  float *buf, *out;
  double lr, momentum, decay;
  bool first;
} sgd_job;

/*
 * g' = g + decay * p; buf = g' on the first step, else momentum * buf + g' (rounded to float in
 * buf); out = p - lr * buf (without momentum: p - lr * g'). Double arithmetic rounded once, exactly
 * as the JavaScript loop of optim/sgd.ts, so either gives the same bits.
 */
VECTORIZED static void sgd_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const sgd_job* job = ctx;
  const float *p = job->p, *g = job->g;
  float *buf = job->buf, *out = job->out;
  const double lr = job->lr, momentum = job->momentum, decay = job->decay;
  if (buf == NULL) {
    for (size_t i = begin; i < end; i++) out[i] = (float)((double)p[i] - lr * ((double)g[i] + decay * (double)p[i]));
  } else if (job->first) {
    for (size_t i = begin; i < end; i++) {
      buf[i] = (float)((double)g[i] + decay * (double)p[i]);
      out[i] = (float)((double)p[i] - lr * (double)buf[i]);
    }
  } else {
    for (size_t i = begin; i < end; i++) {
      buf[i] = (float)(momentum * (double)buf[i] + ((double)g[i] + decay * (double)p[i]));
      out[i] = (float)((double)p[i] - lr * (double)buf[i]);
    }
  }
}

/* sgd(p, g, buf | null, out, lr, momentum, weightDecay, first) */
static napi_value Sgd(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "sgd", 8, &args)) return NULL;
  f32_t p, g, buf, out;
  const f32_arg_t arrays[] = {F32_IN("p", p), F32_IN("g", g), F32_OUT_OPT("buffer", buf), F32_OUT("out", out)};
  sgd_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !arg_number(&args, 4, "lr", &job.lr) ||
      !arg_number(&args, 5, "momentum", &job.momentum) || !arg_number(&args, 6, "weightDecay", &job.decay) ||
      !arg_bool(&args, 7, "first", &job.first) ||
      !expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){p.length, p.length, p.length, p.length})) {
    return NULL;
  }
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.p = p.data;
  job.g = g.data;
  job.buf = buf.data;
  job.out = out.data;
  pool_run(pool, p.length, 65536, sgd_task, &job);
  return NULL;
}

/* ---------- the global gate of an SSD layer: kv = (u * wf + bf) * relu(mean_T(u) * wg + bg) ---------- */

typedef struct {
  const float *u, *wf, *bf, *wg, *bg, *dkv;
  float *kv, *du, *dwf, *dbf, *dwg, *dbg;
  double* sums; /* [8, C] scratch, each part uses its own channels */
  size_t B, T, C;
} gate_job;

/* Samples [begin, end): the gate per channel, then the output. */
VECTORIZED static void gate_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const gate_job* job = ctx;
  const size_t T = job->T, C = job->C;
  /* this part's channels: all of them, for its samples; scratch rows indexed by part would do too,
     but one part per sample range writes every channel, so give each part its own [2, C] */
  double* mean = job->sums + 2 * C * part;
  float* gate = (float*)(mean + C);
  for (size_t b = begin; b < end; b++) {
    for (size_t c = 0; c < C; c++) mean[c] = 0;
    for (size_t t = 0; t < T; t++) {
      const float* u = job->u + (b * T + t) * C;
      for (size_t c = 0; c < C; c++) mean[c] += (double)u[c];
    }
    for (size_t c = 0; c < C; c++) {
      const float z = (float)(mean[c] / (double)T) * job->wg[c] + job->bg[c];
      gate[c] = z > 0.0f ? z : 0.0f;
    }
    for (size_t t = 0; t < T; t++) {
      const float* u = job->u + (b * T + t) * C;
      float* kv = job->kv + (b * T + t) * C;
      for (size_t c = 0; c < C; c++) kv[c] = (u[c] * job->wf[c] + job->bf[c]) * gate[c];
    }
  }
}

/* Channels [begin, end): every gradient of those channels, samples in order. */
VECTORIZED static void gate_backward_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const gate_job* job = ctx;
  const size_t T = job->T, C = job->C, w = end - begin;
  double* mean = job->sums + begin;
  double* dgate = job->sums + C + begin;
  double* acc_wf = job->sums + 2 * C + begin;
  double* acc_bf = job->sums + 3 * C + begin;
  double* acc_wg = job->sums + 4 * C + begin;
  double* acc_bg = job->sums + 5 * C + begin;
  float* gate = (float*)(job->sums + 6 * C) + begin;
  float* dm = (float*)(job->sums + 7 * C) + begin;
  const float *wf = job->wf + begin, *bf = job->bf + begin, *wg = job->wg + begin, *bg = job->bg + begin;
  for (size_t c = 0; c < w; c++) acc_wf[c] = acc_bf[c] = acc_wg[c] = acc_bg[c] = 0;
  for (size_t b = 0; b < job->B; b++) {
    for (size_t c = 0; c < w; c++) mean[c] = dgate[c] = 0;
    for (size_t t = 0; t < T; t++) {
      const float* u = job->u + (b * T + t) * C + begin;
      for (size_t c = 0; c < w; c++) mean[c] += (double)u[c];
    }
    for (size_t t = 0; t < T; t++) {
      const float* u = job->u + (b * T + t) * C + begin;
      const float* dkv = job->dkv + (b * T + t) * C + begin;
      for (size_t c = 0; c < w; c++) dgate[c] += (double)dkv[c] * (double)(u[c] * wf[c] + bf[c]);
    }
    for (size_t c = 0; c < w; c++) {
      const float m = (float)(mean[c] / (double)T);
      const float z = m * wg[c] + bg[c];
      gate[c] = z > 0.0f ? z : 0.0f;
      const double dz = z > 0.0f ? dgate[c] : 0.0;
      acc_wg[c] += dz * (double)m;
      acc_bg[c] += dz;
      dm[c] = (float)(dz * (double)wg[c] / (double)T);
    }
    for (size_t t = 0; t < T; t++) {
      const float* u = job->u + (b * T + t) * C + begin;
      const float* dkv = job->dkv + (b * T + t) * C + begin;
      float* du = job->du + (b * T + t) * C + begin;
      for (size_t c = 0; c < w; c++) {
        const float df = dkv[c] * gate[c];
        du[c] = df * wf[c] + dm[c];
        acc_wf[c] += (double)df * (double)u[c];
        acc_bf[c] += (double)df;
      }
    }
  }
  for (size_t c = 0; c < w; c++) {
    job->dwf[begin + c] = (float)acc_wf[c];
    job->dbf[begin + c] = (float)acc_bf[c];
    job->dwg[begin + c] = (float)acc_wg[c];
    job->dbg[begin + c] = (float)acc_bg[c];
  }
}

static bool gate_args(args_t* args, size_t first, gate_job* job) {
  uint32_t B, T, C;
  if (!arg_size(args, first, "B", &B) || !arg_size(args, first + 1, "T", &T) || !arg_size(args, first + 2, "C", &C)) return false;
  if (T == 0) return fail_range(args, "T: expected at least one step");
  job->B = B;
  job->T = T;
  job->C = C;
  return true;
}

/* gate(u, wf, bf, wg, bg, out, B, T, C) */
static napi_value Gate(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "gate", 9, &args)) return NULL;
  f32_t u, wf, bf, wg, bg, out;
  const f32_arg_t arrays[] = {F32_IN("u", u), F32_IN("wf", wf), F32_IN("bf", bf), F32_IN("wg", wg), F32_IN("bg", bg), F32_OUT("out", out)};
  gate_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !gate_args(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C;
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){size, job.C, job.C, job.C, job.C, size})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.sums = scratch(2 * job.C * sizeof(double) * (size_t)pool_threads(pool));
  if (job.sums == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: gate: out of memory");
    return NULL;
  }
  job.u = u.data;
  job.wf = wf.data;
  job.bf = bf.data;
  job.wg = wg.data;
  job.bg = bg.data;
  job.kv = out.data;
  pool_run(pool, job.B, min_rows(job.T * job.C), gate_forward_task, &job);
  free(job.sums);
  return NULL;
}

/* gateGrad(dkv, u, wf, bf, wg, bg, du, dwf, dbf, dwg, dbg, B, T, C) */
static napi_value GateGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "gateGrad", 14, &args)) return NULL;
  f32_t dkv, u, wf, bf, wg, bg, du, dwf, dbf, dwg, dbg;
  const f32_arg_t arrays[] = {F32_IN("dkv", dkv), F32_IN("u", u),     F32_IN("wf", wf),     F32_IN("bf", bf),
                              F32_IN("wg", wg),   F32_IN("bg", bg),   F32_OUT("du", du),    F32_OUT("dwf", dwf),
                              F32_OUT("dbf", dbf), F32_OUT("dwg", dwg), F32_OUT("dbg", dbg)};
  gate_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !gate_args(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C, C = job.C;
  const uint64_t lengths[] = {size, size, C, C, C, C, size, C, C, C, C};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.sums = scratch(8 * job.C * sizeof(double));
  if (job.sums == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: gateGrad: out of memory");
    return NULL;
  }
  job.dkv = dkv.data;
  job.u = u.data;
  job.wf = wf.data;
  job.bf = bf.data;
  job.wg = wg.data;
  job.bg = bg.data;
  job.du = du.data;
  job.dwf = dwf.data;
  job.dbf = dbf.data;
  job.dwg = dwg.data;
  job.dbg = dbg.data;
  pool_run(pool, job.C, 64, gate_backward_task, &job);
  free(job.sums);
  return NULL;
}

/* ---------- residual joins: out = x * mask + ((a + b) * scale) * keep ---------- */

typedef struct {
  const float *x, *mask, *a, *b, *scale, *keep, *dout;
  float *out, *dx, *da, *dscale;
  size_t B, T, C;
} residual_job;

VECTORIZED static void residual_forward_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const residual_job* job = ctx;
  const size_t C = job->C;
  for (size_t r = begin; r < end; r++) {
    const float m = job->mask != NULL ? job->mask[r] : 1.0f;
    const float k = job->keep != NULL ? job->keep[r / job->T] : 1.0f;
    const float *x = job->x + r * C, *a = job->a + r * C;
    float* out = job->out + r * C;
    for (size_t c = 0; c < C; c++) {
      float v = a[c];
      if (job->b != NULL) v += job->b[r * C + c];
      if (job->scale != NULL) v *= job->scale[c];
      if (job->keep != NULL) v *= k;
      out[c] = x[c] * m + v;
    }
  }
}

/* dx = dout * mask, da = (dout * keep) * scale (= db). */
VECTORIZED static void residual_backward_rows_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const residual_job* job = ctx;
  const size_t C = job->C;
  for (size_t r = begin; r < end; r++) {
    const float m = job->mask != NULL ? job->mask[r] : 1.0f;
    const float k = job->keep != NULL ? job->keep[r / job->T] : 1.0f;
    const float* dout = job->dout + r * C;
    float *dx = job->dx + r * C, *da = job->da + r * C;
    for (size_t c = 0; c < C; c++) {
      dx[c] = dout[c] * m;
      float g = dout[c];
      if (job->keep != NULL) g *= k;
      if (job->scale != NULL) g *= job->scale[c];
      da[c] = g;
    }
  }
}

/* dscale[c] = sum over rows of (dout * keep) * (a + b), channels [begin, end). */
VECTORIZED static void residual_backward_scale_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const residual_job* job = ctx;
  const size_t C = job->C, rows = job->B * job->T;
  double acc[256];
  for (size_t c0 = begin; c0 < end; c0 += 256) {
    const size_t w = end - c0 < 256 ? end - c0 : 256;
    for (size_t c = 0; c < w; c++) acc[c] = 0;
    for (size_t r = 0; r < rows; r++) {
      const float k = job->keep != NULL ? job->keep[r / job->T] : 1.0f;
      const float* dout = job->dout + r * C + c0;
      const float* a = job->a + r * C + c0;
      const float* b = job->b != NULL ? job->b + r * C + c0 : NULL;
      for (size_t c = 0; c < w; c++) {
        const float v = b != NULL ? a[c] + b[c] : a[c];
        acc[c] += (double)(dout[c] * k) * (double)v;
      }
    }
    for (size_t c = 0; c < w; c++) job->dscale[c0 + c] = (float)acc[c];
  }
}

static bool residual_common(args_t* args, size_t first, residual_job* job) {
  uint32_t B, T, C;
  if (!arg_size(args, first, "B", &B) || !arg_size(args, first + 1, "T", &T) || !arg_size(args, first + 2, "C", &C)) return false;
  job->B = B;
  job->T = T;
  job->C = C;
  return true;
}

/* residual(x, mask | null, a, b | null, scale | null, keep | null, out, B, T, C) */
static napi_value Residual(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "residual", 10, &args)) return NULL;
  f32_t x, mask, a, b, scale, keep, out;
  const f32_arg_t arrays[] = {F32_IN("x", x),           F32_IN_OPT("mask", mask), F32_IN("a", a),   F32_IN_OPT("b", b),
                              F32_IN_OPT("scale", scale), F32_IN_OPT("keep", keep), F32_OUT("out", out)};
  residual_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !residual_common(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C;
  const uint64_t lengths[] = {size, (uint64_t)job.B * job.T, size, size, job.C, job.B, size};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.x = x.data;
  job.mask = mask.data;
  job.a = a.data;
  job.b = b.data;
  job.scale = scale.data;
  job.keep = keep.data;
  job.out = out.data;
  pool_run(pool, job.B * job.T, min_rows(job.C), residual_forward_task, &job);
  return NULL;
}

/* residualGrad(dout, mask | null, a, b | null, scale | null, keep | null, dx, da, dscale | null, B, T, C) */
static napi_value ResidualGrad(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "residualGrad", 12, &args)) return NULL;
  f32_t dout, mask, a, b, scale, keep, dx, da, dscale;
  const f32_arg_t arrays[] = {F32_IN("dout", dout),       F32_IN_OPT("mask", mask), F32_IN("a", a),   F32_IN_OPT("b", b),
                              F32_IN_OPT("scale", scale), F32_IN_OPT("keep", keep), F32_OUT("dx", dx), F32_OUT("da", da),
                              F32_OUT_OPT("dscale", dscale)};
  residual_job job = {0};
  if (!arg_f32_list(&args, 0, arrays, F32_COUNT(arrays)) || !residual_common(&args, F32_COUNT(arrays), &job)) return NULL;
  const uint64_t size = (uint64_t)job.B * job.T * job.C;
  const uint64_t lengths[] = {size, (uint64_t)job.B * job.T, size, size, job.C, job.B, size, size, job.C};
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), lengths)) return NULL;
  if (dscale.data != NULL && scale.data == NULL) {
    fail_range(&args, "dscale: given without a scale");
    return NULL;
  }
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  job.dout = dout.data;
  job.mask = mask.data;
  job.a = a.data;
  job.b = b.data;
  job.scale = scale.data;
  job.keep = keep.data;
  job.dx = dx.data;
  job.da = da.data;
  job.dscale = dscale.data;
  pool_run(pool, job.B * job.T, min_rows(job.C), residual_backward_rows_task, &job);
  if (job.dscale != NULL) pool_run(pool, job.C, 64, residual_backward_scale_task, &job);
  return NULL;
}

/* ---------- element-wise add and multiply (b repeated along a's leading axes) ---------- */

typedef struct {
  const float *a, *b;
  float* out;
  size_t size_b;
  int op; /* 0: add, 1: multiply */
} binary_job;

VECTORIZED static void binary_task(void* ctx, size_t part, size_t begin, size_t end) {
  (void)part;
  const binary_job* job = ctx;
  const size_t nb = job->size_b;
  size_t i = begin;
  while (i < end) {
    const size_t j = i % nb;
    size_t run = nb - j;
    if (run > end - i) run = end - i;
    const float* a = job->a + i;
    const float* b = job->b + j;
    float* out = job->out + i;
    if (job->op == 0)
      for (size_t k = 0; k < run; k++) out[k] = a[k] + b[k];
    else
      for (size_t k = 0; k < run; k++) out[k] = a[k] * b[k];
    i += run;
  }
}

/* binary(op, a, b, out): out = a + b (op 0) or a * b (op 1), b of a length dividing a's, repeated */
static napi_value Binary(napi_env env, napi_callback_info info) {
  args_t args;
  if (!args_read(env, info, "binary", 4, &args)) return NULL;
  uint32_t op;
  f32_t a, b, out;
  const f32_arg_t arrays[] = {F32_IN("a", a), F32_IN("b", b), F32_OUT("out", out)};
  if (!arg_size(&args, 0, "op", &op) || !arg_f32_list(&args, 1, arrays, F32_COUNT(arrays))) return NULL;
  if (op > 1) {
    fail_range(&args, "op: expected 0 (add) or 1 (multiply)");
    return NULL;
  }
  if (b.length == 0 ? a.length != 0 : a.length % b.length != 0) {
    fail_range(&args, "b: expected a length that divides a's");
    return NULL;
  }
  if (!expect_f32_list(&args, arrays, F32_COUNT(arrays), (const uint64_t[]){a.length, b.length, a.length})) return NULL;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  binary_job job = {.a = a.data, .b = b.data, .out = out.data, .size_b = b.length, .op = (int)op};
  pool_run(pool, a.length, 65536, binary_task, &job);
  return NULL;
}

napi_status register_kernels(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"groupNorm", NULL, GroupNorm, NULL, NULL, NULL, napi_default, NULL},
      {"groupNormGrad", NULL, GroupNormGrad, NULL, NULL, NULL, napi_default, NULL},
      {"depthwise", NULL, Depthwise, NULL, NULL, NULL, napi_default, NULL},
      {"depthwiseGrad", NULL, DepthwiseGrad, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, Attention, NULL, NULL, NULL, napi_default, NULL},
      {"attentionGrad", NULL, AttentionGrad, NULL, NULL, NULL, napi_default, NULL},
      {"gelu", NULL, Gelu, NULL, NULL, NULL, napi_default, NULL},
      {"geluGrad", NULL, GeluGrad, NULL, NULL, NULL, napi_default, NULL},
      {"tapSum", NULL, TapSum, NULL, NULL, NULL, napi_default, NULL},
      {"tapSumGrad", NULL, TapSumGrad, NULL, NULL, NULL, napi_default, NULL},
      {"maxPool", NULL, MaxPool, NULL, NULL, NULL, napi_default, NULL},
      {"maxPoolGrad", NULL, MaxPoolGrad, NULL, NULL, NULL, napi_default, NULL},
      {"sgd", NULL, Sgd, NULL, NULL, NULL, napi_default, NULL},
      {"gate", NULL, Gate, NULL, NULL, NULL, napi_default, NULL},
      {"gateGrad", NULL, GateGrad, NULL, NULL, NULL, napi_default, NULL},
      {"residual", NULL, Residual, NULL, NULL, NULL, napi_default, NULL},
      {"residualGrad", NULL, ResidualGrad, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, Binary, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
