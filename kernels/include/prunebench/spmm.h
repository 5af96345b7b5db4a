// Sparse weights (M x K) times dense activations (K x N), row-major: C = W * B (C overwritten).
#pragma once
#include <string>
#include <vector>

#include "prunebench/registry.h"
#include "prunebench/sparse.h"

namespace pb {

// One pruned weight matrix in the formats kernels ask for; the benchmark builds only the one a kernel names in
// its KernelInfo::formats, outside the timed region.
struct SparseWeights {
  index_t M = 0, K = 0;
  Csr csr;
  Bsr bsr;
  NmMatrix nm;
};

struct SpmmArgs {
  const SparseWeights* W = nullptr;
  index_t N = 0;
  const float* B = nullptr;  // K x N, row stride ldb
  index_t ldb = 0;
  float* C = nullptr;  // M x N, row stride ldc
  index_t ldc = 0;
  int threads = 1;
};
using SpmmFn = void (*)(const SpmmArgs&);

void spmm_naive_csr(const SpmmArgs& a);
void spmm_eigen_csr(const SpmmArgs& a);
void spmm_openmp_csr(const SpmmArgs& a);
void spmm_openmp_bsr(const SpmmArgs& a);
void spmm_openmp_nm(const SpmmArgs& a);

const std::vector<Kernel<SpmmFn>>& spmm_kernels();
const Kernel<SpmmFn>* find_spmm_kernel(const std::string& backend, const std::string& format);

// Block heights spmm_openmp_bsr has register-blocked code for: 1, 2, 4, 8 (any block width).
inline bool bsr_block_supported(int br) { return br == 1 || br == 2 || br == 4 || br == 8; }

// Row ranges of equal work: boundaries[t]..boundaries[t+1] for part t of `parts`, cut where the cumulative
// non-zero count (plus one per row, for the output write) crosses t/parts of the total. Real pruned layers have
// very uneven rows; splitting by rows would leave threads idle.
std::vector<index_t> balance_rows(const std::vector<std::int32_t>& rowptr, int parts);

}  // namespace pb
