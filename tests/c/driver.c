/* A test driver for one kiln native object (tests/native_*.rs build one per model).
 *
 * Built with -DKILN_NAME=<name> -DKILN_HEADER='"<name>.h"', linked with <name>.o and nothing
 * else of kiln's. It reads the inputs' bytes from stdin (concatenated in graph order, sizes from
 * the header's <name>_INPUT_BYTES), runs <name>_run once and writes the outputs' bytes to stdout.
 *
 * With the argument "threads" it also checks that the object has no shared mutable state: it
 * runs the model once, then on two threads at once (each with its own workspace and outputs and
 * a 1 MiB stack, several times over), and requires every result to equal the first byte for
 * byte.
 *
 * Exit codes: 0 ok, 2 bad input or allocation, 3 the model returned non-zero, 4 the threaded
 * results differ, 5 the header and the object disagree on the workspace size. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include KILN_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(KILN_NAME, s)

enum { NIN = SYM(_NUM_INPUTS), NOUT = SYM(_NUM_OUTPUTS), REPEATS = 3 };
/* The threads' stack: 1 MiB, what the header promises is enough (kernels keep row buffers of
 * up to a few hundred KiB on the stack). */
#define THREAD_STACK ((size_t)1 << 20)
static const size_t in_bytes[] = SYM(_INPUT_BYTES);
static const size_t out_bytes[] = SYM(_OUTPUT_BYTES);

/* A 64-byte aligned buffer of at least `n` bytes (aligned_alloc wants a multiple of 64). */
static void *alloc64(size_t n) {
  void *p = aligned_alloc(64, (n / 64 + 1) * 64);
  if (!p) {
    fprintf(stderr, "driver: out of memory (%zu bytes)\n", n);
    exit(2);
  }
  return p;
}

/* One call's outputs and workspace. */
struct call {
  const void *const *inputs;
  void *outputs[NOUT + 1];
  void *workspace;
  int status;
};

static void call_init(struct call *c, const void *const *inputs) {
  c->inputs = inputs;
  for (int j = 0; j < NOUT; j++) c->outputs[j] = alloc64(out_bytes[j]);
  c->workspace = alloc64(SYM(_workspace_size)());
  c->status = 0;
}

static void *call_run(void *arg) {
  struct call *c = arg;
  for (int r = 0; r < REPEATS && c->status == 0; r++) {
    c->status = SYM(_run)(c->inputs, (void *const *)c->outputs, c->workspace);
  }
  return NULL;
}

static int same_outputs(const struct call *a, const struct call *b) {
  for (int j = 0; j < NOUT; j++) {
    if (memcmp(a->outputs[j], b->outputs[j], out_bytes[j]) != 0) return 0;
  }
  return 1;
}

/* Runs on two threads at once and compares with `first`; returns the exit code. */
static int check_threads(const void *const *inputs, const struct call *first) {
  struct call calls[2];
  pthread_t threads[2];
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, THREAD_STACK) != 0) return 2;
  for (int t = 0; t < 2; t++) {
    call_init(&calls[t], inputs);
    if (pthread_create(&threads[t], &attr, call_run, &calls[t]) != 0) {
      fprintf(stderr, "driver: pthread_create failed\n");
      return 2;
    }
  }
  for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
  for (int t = 0; t < 2; t++) {
    if (calls[t].status != 0) return 3;
    if (!same_outputs(&calls[t], first)) {
      fprintf(stderr, "driver: thread %d computed different outputs\n", t);
      return 4;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (SYM(_workspace_size)() != (size_t)SYM(_WORKSPACE_SIZE)) return 5;
  void *inputs[NIN + 1];
  for (int i = 0; i < NIN; i++) {
    inputs[i] = alloc64(in_bytes[i]);
    if (fread(inputs[i], 1, in_bytes[i], stdin) != in_bytes[i]) {
      fprintf(stderr, "driver: input %d: expected %zu bytes on stdin\n", i, in_bytes[i]);
      return 2;
    }
  }
  struct call first;
  call_init(&first, (const void *const *)inputs);
  first.status = SYM(_run)((const void *const *)inputs, (void *const *)first.outputs, first.workspace);
  if (first.status != 0) return 3;
  if (argc > 1 && strcmp(argv[1], "threads") == 0) {
    int rc = check_threads((const void *const *)inputs, &first);
    if (rc != 0) return rc;
  }
  for (int j = 0; j < NOUT; j++) {
    if (fwrite(first.outputs[j], 1, out_bytes[j], stdout) != out_bytes[j]) return 2;
  }
  return fflush(stdout) == 0 ? 0 : 2;
}
