/*
 * A small fixed thread pool for the native kernels: the calling thread and `threads - 1` workers
 * split a range of work items into contiguous parts, part i always to thread i. Every kernel
 * computes each output value in one thread in a fixed order, so results do not depend on the
 * number of threads. One pool per Node.js environment (main thread or worker thread).
 */
#ifndef PTHNET_POOL_H
#define PTHNET_POOL_H

#include <stddef.h>

/* One part of a job: items [begin, end), part index `part` (< pool_threads). */
typedef void (*pool_task)(void* ctx, size_t part, size_t begin, size_t end);

typedef struct pool pool_t;

/* A pool of `threads` threads including the caller (1: no workers); NULL when out of memory. */
pool_t* pool_create(int threads);
void pool_destroy(pool_t* pool);
int pool_threads(const pool_t* pool);

/*
 * Runs fn(ctx, part, begin, end) over [0, items) split into at most `threads` contiguous parts of at
 * least `min_items` items each, and returns when every part is done. A pool of one thread, or
 * work too small to split, runs in the caller.
 */
void pool_run(pool_t* pool, size_t items, size_t min_items, pool_task fn, void* ctx);

#endif
