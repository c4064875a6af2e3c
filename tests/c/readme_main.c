#include <stdio.h>
#include <stdlib.h>
#include "mobilenet_tiny.h"

int main(void) {
  static float input[1 * 3 * 96 * 96]; /* the image, NCHW (all zeros here) */
  float output[1 * 10];                /* the scores of the 10 classes */
  const void *inputs[] = {input};
  void *outputs[] = {output};
  void *workspace = aligned_alloc(64, (mobilenet_tiny_workspace_size() + 63) / 64 * 64);
  if (!workspace || mobilenet_tiny_run(inputs, outputs, workspace) != 0) return 1;
  for (int k = 0; k < 10; k++) printf("class %d: %f\n", k, output[k]);
  free(workspace);
  return 0;
}
