/*
 * The native addon of the wasm backend (see packages/shared/src/backend/native-gemm.ts and
 * native-kernels.ts): OpenBLAS's sgemm and PTH-Net's layer kernels, in place on Float32Array views
 * of the wasm heap. Each Node.js environment (the main thread, each worker thread) has its own
 * thread pool, sized by setThreads; OpenBLAS itself runs single-threaded under it.
 */
#include <cblas.h>
#include <stdlib.h>

#include "addon.h"
#include "napi_args.h"

typedef struct {
  pool_t* pool;
} instance_t;

static void finalize_instance(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  instance_t* instance = data;
  pool_destroy(instance->pool);
  free(instance);
}

pool_t* addon_pool(napi_env env) {
  instance_t* instance = NULL;
  if (napi_get_instance_data(env, (void**)&instance) != napi_ok || instance == NULL || instance->pool == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: no thread pool in this environment");
    return NULL;
  }
  return instance->pool;
}

/* setThreads(n): the threads (this one included) that this environment's kernels and products use. */
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  args_t args;
  uint32_t threads;
  if (!args_read(env, info, "setThreads", 1, &args) || !arg_size(&args, 0, "threads", &threads)) return NULL;
  instance_t* instance = NULL;
  if (napi_get_instance_data(env, (void**)&instance) != napi_ok || instance == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: no instance data in this environment");
    return NULL;
  }
  if (threads < 1) threads = 1;
  if (threads > 256) threads = 256;
  if (instance->pool != NULL && pool_threads(instance->pool) == (int)threads) return NULL;
  pool_t* pool = pool_create((int)threads);
  if (pool == NULL) {
    napi_throw_error(env, NULL, "pthnet_native: setThreads: out of memory");
    return NULL;
  }
  pool_destroy(instance->pool);
  instance->pool = pool;
  return NULL;
}

/* info(): { config, core, threads } (threads: this environment's pool). */
static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  pool_t* pool = addon_pool(env);
  if (pool == NULL) return NULL;
  napi_value result, config, core, threads;
  if (napi_create_object(env, &result) != napi_ok || napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config) != napi_ok ||
      napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core) != napi_ok ||
      napi_create_int32(env, pool_threads(pool), &threads) != napi_ok || napi_set_named_property(env, result, "config", config) != napi_ok ||
      napi_set_named_property(env, result, "core", core) != napi_ok || napi_set_named_property(env, result, "threads", threads) != napi_ok) {
    napi_throw_error(env, NULL, "pthnet_native: info: N-API call failed");
    return NULL;
  }
  return result;
}

NAPI_MODULE_INIT() {
  /* the pool splits the work; OpenBLAS threads of its own would fight it for the cores */
  openblas_set_num_threads(1);
  instance_t* instance = calloc(1, sizeof *instance);
  if (instance == NULL) return NULL;
  instance->pool = pool_create(1);
  if (instance->pool == NULL || napi_set_instance_data(env, instance, finalize_instance, NULL) != napi_ok) {
    pool_destroy(instance->pool);
    free(instance);
    return NULL;
  }
  napi_property_descriptor properties[] = {
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok ||
      register_gemm(env, exports) != napi_ok || register_kernels(env, exports) != napi_ok) {
    return NULL;
  }
  return exports;
}
