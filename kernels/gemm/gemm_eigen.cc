// eigen: Eigen's own product on mapped row-major buffers — the SIMD rung a C++ user gets for free.
// Eigen parallelizes its GEMM with OpenMP; setNbThreads is how the benchmark's `threads` reaches it.
#include <omp.h>

#include <Eigen/Core>

#include "prunebench/cpu.h"
#include "prunebench/gemm.h"

namespace pb {

std::string eigen_isa() {
#if defined(EIGEN_VECTORIZE_AVX512)
  return "avx512";
#elif defined(EIGEN_VECTORIZE_AVX2)
  return "avx2";
#elif defined(EIGEN_VECTORIZE_AVX)
  return "avx";
#elif defined(EIGEN_VECTORIZE_SSE2)
  return "sse2";
#else
  return "none";
#endif
}

// An AVX2 run on an AVX-512 machine must not publish Eigen's AVX-512 numbers beside everyone else's AVX2 ones (they
// made Eigen the "fastest dense" of every DLMC layer under the cap): its rows carry this reason instead.
std::string eigen_isa_status() {
  const std::string cap = cpu::isa_cap(), e = eigen_isa();
  const bool above = (cap == "avx2" && e == "avx512") || (cap == "generic" && (e == "avx512" || e == "avx2" || e == "avx"));
  if (!above) return {};
  return "PB_MAX_ISA=" + cap + ": Eigen was compiled for " + e + " (-march=native) and cannot be held at the cap";
}

void gemm_eigen(const GemmArgs& g) {
  if (g.M == 0 || g.N == 0) return;
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const RowMajor, Eigen::Unaligned, Stride> A(g.A, g.M, g.K, Stride(g.lda));
  Eigen::Map<const RowMajor, Eigen::Unaligned, Stride> B(g.B, g.K, g.N, Stride(g.ldb));
  Eigen::Map<RowMajor, Eigen::Unaligned, Stride> C(g.C, g.M, g.N, Stride(g.ldc));
  // Inside a parallel region (the convolution's im2col route runs one product per thread) Eigen does not parallelise
  // anyway, and the calls would race on its global thread count.
  if (!omp_in_parallel()) Eigen::setNbThreads(g.threads);
  if (g.K == 0) {
    C.setZero();
    return;
  }
  C.noalias() = A * B;
}

}  // namespace pb
