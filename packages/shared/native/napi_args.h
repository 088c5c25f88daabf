/*
 * Argument checks shared by the addon's functions: every size is a non-negative integer below
 * 2^31, every array a Float32Array whose length is checked against the sizes before any native
 * code reads or writes it, and no output may overlap another array of the call.
 */
#ifndef PTHNET_NAPI_ARGS_H
#define PTHNET_NAPI_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  napi_env env;
  const char* fn;
  size_t argc;
  napi_value argv[24];
} args_t;

/* Reads the call's arguments; false (with a TypeError thrown) unless there are exactly `expected`. */
bool args_read(napi_env env, napi_callback_info info, const char* fn, size_t expected, args_t* args);
bool arg_bool(args_t* args, size_t index, const char* name, bool* out);
/* An integer in [0, 2^31). */
bool arg_size(args_t* args, size_t index, const char* name, uint32_t* out);
/* A finite number. */
bool arg_number(args_t* args, size_t index, const char* name, double* out);

typedef struct {
  float* data;
  size_t length;
} f32_t;

/* A Float32Array (or, with `nullable`, null or undefined: data NULL, length 0). */
bool arg_f32(args_t* args, size_t index, const char* name, bool nullable, f32_t* out);
/* Throws a RangeError unless `array` (when present) holds exactly `expected` values. */
bool expect_length(args_t* args, const char* name, const f32_t* array, uint64_t expected);
/*
 * One Float32Array argument of a kernel, read into `view`: null allowed where `nullable`; an
 * `output` is written by the kernel, so it may share memory with no other argument of the call.
 */
typedef struct {
  const char* name;
  f32_t* view;
  bool nullable;
  bool output;
} f32_arg_t;
#define F32_IN(name, var) {(name), &(var), false, false}
#define F32_IN_OPT(name, var) {(name), &(var), true, false}
#define F32_OUT(name, var) {(name), &(var), false, true}
#define F32_OUT_OPT(name, var) {(name), &(var), true, true}
#define F32_COUNT(list) (sizeof(list) / sizeof((list)[0]))

/* Reads `count` consecutive Float32Array arguments from `first` into their views. */
bool arg_f32_list(args_t* args, size_t first, const f32_arg_t* list, size_t count);
/* Checks each argument's length against `lengths[i]` (absent ones pass), then every output against every other argument. */
bool expect_f32_list(args_t* args, const f32_arg_t* list, size_t count, const uint64_t* lengths);
/* Only the overlap check of expect_f32_list, for kernels that check lengths their own way. */
bool expect_outputs_disjoint(args_t* args, const f32_arg_t* list, size_t count);
/* Throws a RangeError with the function's name and `message`. */
bool fail_range(args_t* args, const char* message);

#endif
