// eigen: Eigen's own product on mapped row-major buffers — the SIMD rung a C++ user gets for free.
// Eigen parallelizes its GEMM with OpenMP; setNbThreads is how the benchmark's `threads` reaches it.
#include <Eigen/Core>

#include "prunebench/gemm.h"

namespace pb {

void gemm_eigen(const GemmArgs& g) {
  if (g.M == 0 || g.N == 0) return;
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const RowMajor, Eigen::Unaligned, Stride> A(g.A, g.M, g.K, Stride(g.lda));
  Eigen::Map<const RowMajor, Eigen::Unaligned, Stride> B(g.B, g.K, g.N, Stride(g.ldb));
  Eigen::Map<RowMajor, Eigen::Unaligned, Stride> C(g.C, g.M, g.N, Stride(g.ldc));
  Eigen::setNbThreads(g.threads);
  if (g.K == 0) {
    C.setZero();
    return;
  }
  C.noalias() = A * B;
}

}  // namespace pb
