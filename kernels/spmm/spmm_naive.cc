// naive CSR SpMM: for each non-zero, a scalar axpy of a row of B into a row of C. Kept scalar like gemm_naive
// (compiled with -fno-tree-vectorize); single-threaded.
#include "prunebench/spmm.h"

namespace pb {

void spmm_naive_csr(const SpmmArgs& g) {
  const Csr& A = g.W->csr;
  for (index_t i = 0; i < A.rows; ++i) {
    float* c = g.C + i * g.ldc;
    for (index_t j = 0; j < g.N; ++j) c[j] = 0.0f;
    for (std::int32_t p = A.rowptr[i]; p < A.rowptr[i + 1]; ++p) {
      const float v = A.values[p];
      const float* b = g.B + static_cast<index_t>(A.colidx[p]) * g.ldb;
      for (index_t j = 0; j < g.N; ++j) c[j] += v * b[j];
    }
  }
}

}  // namespace pb
