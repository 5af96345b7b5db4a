// SpMM rows of the registry. Dense GEMM on masked weights ("masked") and structured pruning run as the smaller
// dense GEMM ("structured") reuse the gemm kernels; bench/spmm.cc adds those rows from the gemm registry.
#include "prunebench/spmm.h"

namespace pb {

namespace {
std::string always() { return {}; }
}  // namespace

const std::vector<Kernel<SpmmFn>>& spmm_kernels() {
  static const std::vector<Kernel<SpmmFn>> table = {
      {{"spmm", "naive", "csr", {"csr"}, always}, spmm_naive_csr},
      {{"spmm", "eigen", "csr", {"csr"}, always}, spmm_eigen_csr},
      {{"spmm", "openmp", "csr", {"csr"}, always}, spmm_openmp_csr},
      {{"spmm", "openmp", "bsr", {"bsr"}, always}, spmm_openmp_bsr},
      {{"spmm", "openmp", "nm", {"nm"}, always}, spmm_openmp_nm},
  };
  return table;
}

const Kernel<SpmmFn>* find_spmm_kernel(const std::string& backend, const std::string& format) {
  for (const auto& k : spmm_kernels())
    if (k.info.backend == backend && k.info.variant == format) return &k;
  return nullptr;
}

}  // namespace pb
