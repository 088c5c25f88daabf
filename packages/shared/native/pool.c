#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* A worker spins this long for the next job before sleeping: the JavaScript between two kernels
 * of a training step takes microseconds, a wake-up from sleep tens of them. */
#define SPIN_NS 200000L

struct pool {
  int threads;
  pthread_t* handles;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  atomic_uint generation;
  atomic_int remaining;
  atomic_int stop;
  /* the job of the current generation, written before the generation moves */
  pool_task fn;
  void* ctx;
  size_t items;
  int parts;
};

struct worker_start {
  pool_t* pool;
  int index;
};

static long elapsed_ns(const struct timespec* since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

static void run_part(pool_t* pool, int index) {
  if (index >= pool->parts) return;
  size_t begin = pool->items * (size_t)index / (size_t)pool->parts;
  size_t end = pool->items * (size_t)(index + 1) / (size_t)pool->parts;
  if (end > begin) pool->fn(pool->ctx, (size_t)index, begin, end);
}

static void* worker_main(void* arg) {
  struct worker_start start = *(struct worker_start*)arg;
  free(arg);
  pool_t* pool = start.pool;
  unsigned seen = 0;
  for (;;) {
    struct timespec since;
    clock_gettime(CLOCK_MONOTONIC, &since);
    unsigned spins = 0;
    while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) {
      CPU_RELAX();
      if ((++spins & 255u) == 0 && elapsed_ns(&since) > SPIN_NS) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop)) pthread_cond_wait(&pool->wake, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
      }
    }
    if (atomic_load(&pool->stop)) break;
    seen = atomic_load(&pool->generation);
    run_part(pool, start.index);
    atomic_fetch_sub(&pool->remaining, 1);
  }
  return NULL;
}

pool_t* pool_create(int threads) {
  if (threads < 1) threads = 1;
  pool_t* pool = calloc(1, sizeof *pool);
  if (pool == NULL) return NULL;
  pool->threads = 1;
  pthread_mutex_init(&pool->mutex, NULL);
  pthread_cond_init(&pool->wake, NULL);
  atomic_init(&pool->generation, 0);
  atomic_init(&pool->remaining, 0);
  atomic_init(&pool->stop, 0);
  if (threads == 1) return pool;
  pool->handles = calloc((size_t)threads - 1, sizeof *pool->handles);
  if (pool->handles == NULL) return pool;
  for (int i = 1; i < threads; i++) {
    struct worker_start* start = malloc(sizeof *start);
    if (start == NULL) break;
    start->pool = pool;
    start->index = i;
    if (pthread_create(&pool->handles[i - 1], NULL, worker_main, start) != 0) {
      free(start);
      break;
    }
    pool->threads = i + 1;
  }
  return pool;
}

void pool_destroy(pool_t* pool) {
  if (pool == NULL) return;
  pthread_mutex_lock(&pool->mutex);
  atomic_store(&pool->stop, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
  for (int i = 1; i < pool->threads; i++) pthread_join(pool->handles[i - 1], NULL);
  free(pool->handles);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->mutex);
  free(pool);
}

int pool_threads(const pool_t* pool) { return pool->threads; }

void pool_run(pool_t* pool, size_t items, size_t min_items, pool_task fn, void* ctx) {
  if (items == 0) return;
  if (min_items < 1) min_items = 1;
  size_t parts = items / min_items;
  if (parts > (size_t)pool->threads) parts = (size_t)pool->threads;
  if (parts <= 1) {
    fn(ctx, 0, 0, items);
    return;
  }
  pool->fn = fn;
  pool->ctx = ctx;
  pool->items = items;
  pool->parts = (int)parts;
  atomic_store(&pool->remaining, pool->threads - 1);
  pthread_mutex_lock(&pool->mutex);
  atomic_fetch_add(&pool->generation, 1);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
  run_part(pool, 0);
  unsigned spins = 0;
  while (atomic_load(&pool->remaining) > 0) {
    CPU_RELAX();
    /* a worker that lost its core (a busy machine) gets it back sooner */
    if ((++spins & 1023u) == 0) sched_yield();
  }
}
