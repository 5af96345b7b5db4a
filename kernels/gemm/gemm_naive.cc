// naive: the textbook triple loop, the bottom rung of the ladder.
//
// Kept scalar on purpose: (1) the k-loop is a float reduction, which the compiler may not reorder (and so not
// vectorize) without -ffast-math, which we never pass; (2) CMake compiles this file with
// -fno-tree-vectorize -fno-slp-vectorize so the j-loop is not vectorized across outputs either.
// Single-threaded by definition; the `threads` argument is ignored.
#include "prunebench/gemm.h"

namespace pb {

void gemm_naive(const GemmArgs& g) {
  for (index_t i = 0; i < g.M; ++i) {
    for (index_t j = 0; j < g.N; ++j) {
      float acc = 0.0f;
      for (index_t k = 0; k < g.K; ++k) acc += g.A[i * g.lda + k] * g.B[k * g.ldb + j];
      g.C[i * g.ldc + j] = acc;
    }
  }
}

}  // namespace pb
