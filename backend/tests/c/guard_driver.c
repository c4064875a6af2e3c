/* The driver of the backend's AArch64 object tests (backend/tests/common/qemu.rs): links with
 * one object whose entry is `kiln_t_run(inputs, outputs, workspace)` and runs it once.
 *
 * Usage: driver WORKSPACE NIN IN_BYTES... NOUT OUT_BYTES...; the inputs' bytes come on stdin
 * (concatenated in order), the outputs' bytes go to stdout.
 *
 * Every buffer (inputs, outputs, workspace) sits between two 64-byte guard zones filled with
 * 0xCD; outputs and the workspace start filled with 0xA5 (unwritten elements show up as
 * mismatches). After the run every guard is checked: a kernel reading past a buffer can fault,
 * one writing past it fails here with exit code 6 and the buffer named on stderr.
 * Exit codes: 0 ok, 2 bad arguments or input, 3 the entry returned non-zero, 6 a guard was hit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 64
#define GUARD_BYTE 0xCD
#define POISON_BYTE 0xA5

extern int32_t kiln_t_run(const void *const *inputs, void *const *outputs, void *workspace);

struct buf {
  unsigned char *base; /* guard, data (rounded up to 64 bytes), guard */
  size_t len;
};

static struct buf make(size_t len, int fill) {
  struct buf b;
  size_t body = (len + 63) / 64 * 64;
  b.len = len;
  b.base = aligned_alloc(64, body + 2 * GUARD);
  if (!b.base) exit(2);
  memset(b.base, GUARD_BYTE, GUARD);
  memset(b.base + GUARD, fill, body);
  memset(b.base + GUARD + len, GUARD_BYTE, body - len + GUARD);
  return b;
}

static unsigned char *data(struct buf *b) { return b->base + GUARD; }

static int intact(const struct buf *b) {
  size_t body = (b->len + 63) / 64 * 64;
  for (size_t i = 0; i < GUARD; i++)
    if (b->base[i] != GUARD_BYTE) return 0;
  for (size_t i = GUARD + b->len; i < body + 2 * GUARD; i++)
    if (b->base[i] != GUARD_BYTE) return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int a = 1;
  size_t ws = strtoull(argv[a++], NULL, 10);
  int nin = atoi(argv[a++]);
  if (nin < 0 || a + nin >= argc) return 2;
  struct buf *ins = calloc(nin + 1, sizeof *ins);
  const void **in_ptrs = calloc(nin + 1, sizeof *in_ptrs);
  for (int i = 0; i < nin; i++) {
    ins[i] = make(strtoull(argv[a++], NULL, 10), 0);
    if (fread(data(&ins[i]), 1, ins[i].len, stdin) != ins[i].len) return 2;
    in_ptrs[i] = data(&ins[i]);
  }
  int nout = atoi(argv[a++]);
  if (nout < 0 || a + nout != argc) return 2;
  struct buf *outs = calloc(nout + 1, sizeof *outs);
  void **out_ptrs = calloc(nout + 1, sizeof *out_ptrs);
  for (int j = 0; j < nout; j++) {
    outs[j] = make(strtoull(argv[a++], NULL, 10), POISON_BYTE);
    out_ptrs[j] = data(&outs[j]);
  }
  struct buf w = make(ws, POISON_BYTE);
  if (kiln_t_run(in_ptrs, out_ptrs, data(&w)) != 0) return 3;
  for (int i = 0; i < nin; i++)
    if (!intact(&ins[i])) { fprintf(stderr, "guard: input %d\n", i); return 6; }
  for (int j = 0; j < nout; j++)
    if (!intact(&outs[j])) { fprintf(stderr, "guard: output %d\n", j); return 6; }
  if (!intact(&w)) { fprintf(stderr, "guard: workspace\n"); return 6; }
  for (int j = 0; j < nout; j++)
    if (fwrite(data(&outs[j]), 1, outs[j].len, stdout) != outs[j].len) return 2;
  return fflush(stdout) == 0 ? 0 : 2;
}
