#include "napi_args.h"

#include <stdio.h>

bool args_read(napi_env env, napi_callback_info info, const char* fn, size_t expected, args_t* args) {
  args->env = env;
  args->fn = fn;
  args->argc = sizeof args->argv / sizeof args->argv[0];
  if (napi_get_cb_info(env, info, &args->argc, args->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "pthnet_native: N-API call failed: napi_get_cb_info");
    return false;
  }
  if (args->argc != expected) {
    char message[128];
    snprintf(message, sizeof message, "pthnet_native: %s expects %zu arguments, got %zu", fn, expected, args->argc);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  return true;
}

static bool type_error(args_t* args, const char* name, const char* what) {
  char message[160];
  snprintf(message, sizeof message, "pthnet_native: %s: %s: expected %s", args->fn, name, what);
  napi_throw_type_error(args->env, NULL, message);
  return false;
}

bool arg_bool(args_t* args, size_t index, const char* name, bool* out) {
  if (napi_get_value_bool(args->env, args->argv[index], out) != napi_ok) return type_error(args, name, "a boolean");
  return true;
}

bool arg_size(args_t* args, size_t index, const char* name, uint32_t* out) {
  double number = -1;
  if (napi_get_value_double(args->env, args->argv[index], &number) != napi_ok || !(number >= 0) || number > 2147483647.0 ||
      number != (double)(uint32_t)number) {
    return type_error(args, name, "a non-negative integer");
  }
  *out = (uint32_t)number;
  return true;
}

bool arg_number(args_t* args, size_t index, const char* name, double* out) {
  double number = 0;
  if (napi_get_value_double(args->env, args->argv[index], &number) != napi_ok || number != number || number - number != 0) {
    return type_error(args, name, "a finite number");
  }
  *out = number;
  return true;
}

bool arg_f32(args_t* args, size_t index, const char* name, bool nullable, f32_t* out) {
  napi_valuetype type;
  if (nullable && napi_typeof(args->env, args->argv[index], &type) == napi_ok && (type == napi_null || type == napi_undefined)) {
    out->data = NULL;
    out->length = 0;
    return true;
  }
  bool is_typed = false;
  napi_typedarray_type kind;
  void* raw = NULL;
  if (napi_is_typedarray(args->env, args->argv[index], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(args->env, args->argv[index], &kind, &out->length, &raw, NULL, NULL) != napi_ok ||
      kind != napi_float32_array) {
    return type_error(args, name, nullable ? "a Float32Array or null" : "a Float32Array");
  }
  out->data = (float*)raw;
  return true;
}

bool fail_range(args_t* args, const char* message) {
  char text[200];
  snprintf(text, sizeof text, "pthnet_native: %s: %s", args->fn, message);
  napi_throw_range_error(args->env, NULL, text);
  return false;
}

bool expect_length(args_t* args, const char* name, const f32_t* array, uint64_t expected) {
  if (array->data == NULL || (uint64_t)array->length == expected) return true;
  char message[160];
  snprintf(message, sizeof message, "%s: expected %llu values, got %zu", name, (unsigned long long)expected, array->length);
  return fail_range(args, message);
}

static bool overlaps(const f32_t* a, const f32_t* b) {
  if (a->data == NULL || b->data == NULL || a->length == 0 || b->length == 0) return false;
  return b->data < a->data + a->length && a->data < b->data + b->length;
}

bool arg_f32_list(args_t* args, size_t first, const f32_arg_t* list, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!arg_f32(args, first + i, list[i].name, list[i].nullable, list[i].view)) return false;
  return true;
}

bool expect_outputs_disjoint(args_t* args, const f32_arg_t* list, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (!list[i].output) continue;
    for (size_t j = 0; j < count; j++) {
      if (j == i || !overlaps(list[i].view, list[j].view)) continue;
      char message[160];
      snprintf(message, sizeof message, "%s: shares memory with %s", list[i].name, list[j].name);
      return fail_range(args, message);
    }
  }
  return true;
}

bool expect_f32_list(args_t* args, const f32_arg_t* list, size_t count, const uint64_t* lengths) {
  for (size_t i = 0; i < count; i++)
    if (!expect_length(args, list[i].name, list[i].view, lengths[i])) return false;
  return expect_outputs_disjoint(args, list, count);
}
