/*
 * Node-API binding of OpenBLAS's sgemm for the wasm backend's matMul kernels (see
 * packages/shared/src/backend/native-gemm.ts). It reads and writes Float32Array views straight
 * in place (views into the wasm heap): no copies. Every size is checked against the views'
 * lengths before OpenBLAS touches memory, so a wrong call throws instead of writing out of bounds.
 */
#include <cblas.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "pthnet_gemm: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

/* A size: an integer in [0, 2^31) (OpenBLAS takes int), not just anything N-API can wrap to a uint32. */
static bool get_u32(napi_env env, napi_value value, const char* name, uint32_t* out) {
  double number = -1;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= 0) || number > 2147483647.0 ||
      number != (double)(uint32_t)number) {
    char message[96];
    snprintf(message, sizeof message, "pthnet_gemm: %s: expected a non-negative integer", name);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  *out = (uint32_t)number;
  return true;
}

/* A Float32Array argument (or null when allowed) as a pointer and an element count. */
static bool get_f32(napi_env env, napi_value value, const char* name, bool nullable, float** data, size_t* length) {
  napi_valuetype type;
  if (nullable && napi_typeof(env, value, &type) == napi_ok && (type == napi_null || type == napi_undefined)) {
    *data = NULL;
    *length = 0;
    return true;
  }
  bool is_typed = false;
  napi_typedarray_type kind;
  void* raw = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &kind, length, &raw, NULL, NULL) != napi_ok || kind != napi_float32_array) {
    char message[96];
    snprintf(message, sizeof message, "pthnet_gemm: %s: expected a Float32Array", name);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  *data = (float*)raw;
  return true;
}

static bool fits(napi_env env, const char* name, size_t length, uint64_t batches, uint64_t stride, uint64_t matrix) {
  uint64_t needed = batches == 0 ? 0 : (batches - 1) * stride + matrix;
  if ((uint64_t)length < needed) {
    char message[160];
    snprintf(message, sizeof message, "pthnet_gemm: %s: expected at least %llu values, got %zu", name,
             (unsigned long long)needed, length);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  return true;
}

/*
 * gemm(transA, transB, batch, M, N, K, a, strideA, b, strideB, out, bias | null)
 * For each of `batch` row-major products: out[i] = op(a[i]) op(b[i]) (+ bias on every row),
 * op(a) [M, K], op(b) [K, N]; a stride of 0 repeats one matrix for every product (broadcast).
 */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) {
    napi_throw_type_error(env, NULL, "pthnet_gemm: gemm expects 12 arguments");
    return NULL;
  }
  bool trans_a = false, trans_b = false;
  CHECK(napi_get_value_bool(env, argv[0], &trans_a));
  CHECK(napi_get_value_bool(env, argv[1], &trans_b));
  uint32_t batch, m, n, k, stride_a, stride_b;
  float *a, *b, *out, *bias;
  size_t a_len, b_len, out_len, bias_len;
  if (!get_u32(env, argv[2], "batch", &batch) || !get_u32(env, argv[3], "M", &m) || !get_u32(env, argv[4], "N", &n) ||
      !get_u32(env, argv[5], "K", &k) || !get_f32(env, argv[6], "a", false, &a, &a_len) ||
      !get_u32(env, argv[7], "strideA", &stride_a) || !get_f32(env, argv[8], "b", false, &b, &b_len) ||
      !get_u32(env, argv[9], "strideB", &stride_b) || !get_f32(env, argv[10], "out", false, &out, &out_len) ||
      !get_f32(env, argv[11], "bias", true, &bias, &bias_len)) {
    return NULL;
  }
  const uint64_t mk = (uint64_t)m * k, kn = (uint64_t)k * n, mn = (uint64_t)m * n;
  if (!fits(env, "a", a_len, batch, stride_a, mk) || !fits(env, "b", b_len, batch, stride_b, kn) ||
      !fits(env, "out", out_len, batch, mn, mn) || (bias != NULL && !fits(env, "bias", bias_len, 1, 0, n))) {
    return NULL;
  }
  if (m == 0 || n == 0) return NULL; /* an empty product: nothing to write */
  const int lda = trans_a ? (int)m : (int)k;
  const int ldb = trans_b ? (int)k : (int)n;
  for (uint32_t i = 0; i < batch; i++) {
    float* c = out + (uint64_t)i * mn;
    if (bias != NULL) {
      for (uint32_t row = 0; row < m; row++) {
        for (uint32_t col = 0; col < n; col++) c[(uint64_t)row * n + col] = bias[col];
      }
    }
    if (k == 0) {
      if (bias == NULL) {
        for (uint64_t j = 0; j < mn; j++) c[j] = 0.0f;
      }
      continue;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a + (uint64_t)i * stride_a, lda, b + (uint64_t)i * stride_b, ldb, bias != NULL ? 1.0f : 0.0f, c,
                (int)n);
  }
  return NULL;
}

/* setThreads(n): OpenBLAS's thread count, process-wide. */
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t threads;
  if (argc != 1 || !get_u32(env, argv[0], "threads", &threads)) return NULL;
  openblas_set_num_threads(threads < 1 ? 1 : (int)threads);
  return NULL;
}

/* info(): { config, core, threads } as OpenBLAS reports them. */
static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, config, core, threads;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
  CHECK(napi_set_named_property(env, result, "config", config));
  CHECK(napi_set_named_property(env, result, "core", core));
  CHECK(napi_set_named_property(env, result, "threads", threads));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}
