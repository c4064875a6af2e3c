/* A test driver for NAME_run_parallel (tests/native_threads.rs): the README's pthreads pool
 * (parallel_pool.c, verbatim) around one kiln object.
 *
 * Built with -DKILN_NAME=<name> -DKILN_HEADER='"<name>.h"', linked with <name>.o. Usage:
 * `driver THREADS`. It reads the inputs' bytes from stdin (graph order), runs
 * <name>_run_parallel on THREADS threads and <name>_run, requires both outputs to be the same
 * bytes, and writes the parallel run's outputs to stdout.
 *
 * Exit codes: 0 ok, 2 bad input, allocation or thread start, 3 the model returned non-zero,
 * 4 the parallel and the plain run differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include KILN_HEADER
#include "parallel_pool.c"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(KILN_NAME, s)

enum { NIN = SYM(_NUM_INPUTS), NOUT = SYM(_NUM_OUTPUTS) };
static const size_t in_bytes[] = SYM(_INPUT_BYTES);
static const size_t out_bytes[] = SYM(_OUTPUT_BYTES);

static void *alloc64(size_t n) {
  void *p = aligned_alloc(64, (n / 64 + 1) * 64);
  if (!p) {
    fprintf(stderr, "driver: out of memory (%zu bytes)\n", n);
    exit(2);
  }
  return p;
}

int main(int argc, char **argv) {
  unsigned int threads = argc > 1 ? (unsigned int)atoi(argv[1]) : 1;
  void *inputs[NIN + 1], *parallel_out[NOUT + 1], *plain_out[NOUT + 1];
  for (int i = 0; i < NIN; i++) {
    inputs[i] = alloc64(in_bytes[i]);
    if (fread(inputs[i], 1, in_bytes[i], stdin) != in_bytes[i]) return 2;
  }
  for (int j = 0; j < NOUT; j++) {
    parallel_out[j] = alloc64(out_bytes[j]);
    plain_out[j] = alloc64(out_bytes[j]);
  }
  void *workspace = alloc64(SYM(_workspace_size)());
  struct pool pool;
  if (pool_start(&pool, threads) != 0) return 2;
  SYM(_parallel) par = {threads, &pool, pool_run};
  int status = SYM(_run_parallel)((const void *const *)inputs, (void *const *)parallel_out, workspace, &par);
  pool_stop(&pool);
  if (status != 0) return 3;
  if (SYM(_run)((const void *const *)inputs, (void *const *)plain_out, workspace) != 0) return 3;
  for (int j = 0; j < NOUT; j++) {
    if (memcmp(parallel_out[j], plain_out[j], out_bytes[j]) != 0) return 4;
    if (fwrite(parallel_out[j], 1, out_bytes[j], stdout) != out_bytes[j]) return 2;
  }
  return fflush(stdout) == 0 ? 0 : 2;
}
