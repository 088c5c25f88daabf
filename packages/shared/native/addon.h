#ifndef PTHNET_ADDON_H
#define PTHNET_ADDON_H

#include <node_api.h>

#include "pool.h"

/* The thread pool of the calling environment (main thread or worker thread); throws and returns NULL if there is none. */
pool_t* addon_pool(napi_env env);

/* Registers the functions of gemm.c / kernels.c on `exports`. */
napi_status register_gemm(napi_env env, napi_value exports);
napi_status register_kernels(napi_env env, napi_value exports);

#endif
