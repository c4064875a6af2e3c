/* A fork-join pool on POSIX threads for NAME_run_parallel: pool_run hands out task
 * indices under one mutex, the calling thread works too, and it returns when all are done. */
#include <pthread.h>

#define POOL_MAX_THREADS 64

struct pool {
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  void (*task)(void *ctx, unsigned int index);
  void *ctx;
  unsigned int n, next, finished, generation, workers;
  int stop;
  pthread_t threads[POOL_MAX_THREADS];
};

/* Runs tasks of the current job until none is left; called and returns with the lock held. */
static void pool_work(struct pool *p) {
  while (p->next < p->n) {
    unsigned int i = p->next++;
    void (*task)(void *, unsigned int) = p->task;
    void *ctx = p->ctx;
    pthread_mutex_unlock(&p->lock);
    task(ctx, i);
    pthread_mutex_lock(&p->lock);
    if (++p->finished == p->n) pthread_cond_broadcast(&p->done);
  }
}

static void *pool_worker(void *arg) {
  struct pool *p = arg;
  pthread_mutex_lock(&p->lock);
  unsigned int seen = p->generation;
  while (!p->stop) {
    if (p->generation != seen) {
      seen = p->generation;
      pool_work(p);
    } else {
      pthread_cond_wait(&p->wake, &p->lock);
    }
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* The run callback of NAME_parallel: task(ctx, i) once for every i < n. */
static void pool_run(void *pool, unsigned int n, void (*task)(void *ctx, unsigned int index), void *ctx) {
  struct pool *p = pool;
  pthread_mutex_lock(&p->lock);
  p->task = task;
  p->ctx = ctx;
  p->n = n;
  p->next = 0;
  p->finished = 0;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pool_work(p);
  while (p->finished < p->n) pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

/* Starts threads - 1 workers (the caller of pool_run is the last thread); 0 on success. */
static int pool_start(struct pool *p, unsigned int threads) {
  *p = (struct pool){.stop = 0};
  if (pthread_mutex_init(&p->lock, NULL) || pthread_cond_init(&p->wake, NULL) || pthread_cond_init(&p->done, NULL))
    return -1;
  for (; p->workers + 1 < threads && p->workers < POOL_MAX_THREADS; p->workers++) {
    if (pthread_create(&p->threads[p->workers], NULL, pool_worker, p) != 0) return -1;
  }
  return 0;
}

static void pool_stop(struct pool *p) {
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (unsigned int t = 0; t < p->workers; t++) pthread_join(p->threads[t], NULL);
}
