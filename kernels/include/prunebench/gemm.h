// Dense fp32 GEMM, row-major C = A * B (C is overwritten, never accumulated into).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "prunebench/registry.h"
#include "prunebench/types.h"

namespace pb {

struct GemmArgs {
  index_t M = 0, N = 0, K = 0;
  const float* A = nullptr;  // M x K, row stride lda >= K
  index_t lda = 0;
  const float* B = nullptr;  // K x N, row stride ldb >= N
  index_t ldb = 0;
  float* C = nullptr;  // M x N, row stride ldc >= N
  index_t ldc = 0;
  int threads = 1;
};
// Contract every backend keeps: M or N of 0 writes nothing; K of 0 writes zeros into C; nothing outside the
// M x N window of C is written.
using GemmFn = void (*)(const GemmArgs&);

void gemm_naive(const GemmArgs& a);
void gemm_eigen(const GemmArgs& a);
// Eigen's vector code is fixed when it is compiled (-march=native), so PB_MAX_ISA cannot lower it. eigen_isa(): the
// widest ISA it was compiled for (avx512, avx2, avx, sse2, none); eigen_isa_status(): why its rows cannot run under a
// cap below that (every eigen row's why_unavailable), empty otherwise.
std::string eigen_isa();
std::string eigen_isa_status();
void gemm_openmp(const GemmArgs& a);
void gemm_openblas(const GemmArgs& a);
void gemm_mkl(const GemmArgs& a);

const std::vector<Kernel<GemmFn>>& gemm_kernels();
const Kernel<GemmFn>* find_gemm_kernel(const std::string& backend);

// Which micro-kernel gemm_openmp dispatches to on this CPU ("avx512 12x32", "avx2 6x16", "generic 4x8").
std::string gemm_openmp_microkernel();
// Every ISA instance of gemm_openmp this CPU can run, widest first, so tests cover each path, not only the one
// the dispatcher picks.
std::vector<std::pair<std::string, GemmFn>> gemm_openmp_isa_variants();

}  // namespace pb
