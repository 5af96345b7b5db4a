// SpMM rows of the registry. Dense GEMM on masked weights ("masked") and structured pruning run as the smaller
// dense GEMM ("structured") reuse the gemm kernels; bench/spmm.cc adds those rows from the gemm registry.
#include "prunebench/gemm.h"
#include "prunebench/mkl.h"
#include "prunebench/spmm.h"

namespace pb {

namespace {
std::string always() { return {}; }
// A dense route is available exactly when the gemm kernel that runs it is.
std::string openblas_status() { return find_gemm_kernel("openblas")->info.why_unavailable(); }
}  // namespace

const std::vector<Kernel<SpmmFn>>& spmm_kernels() {
  static const std::vector<Kernel<SpmmFn>> table = [] {
    std::vector<Kernel<SpmmFn>> t = {
        {{"spmm", "naive", "csr", {"csr"}, always, pattern_fits_csr}, spmm_naive_csr},
        {{"spmm", "eigen", "csr", {"csr"}, eigen_isa_status, pattern_fits_csr}, spmm_eigen_csr},
    };
    // Our openmp kernels: their entries are in spmm_openmp_impl.h (one table instantiated per ISA).
    for (const auto& k : spmm_openmp_kernels()) t.push_back(k);
    // oneMKL's inspector-executor SpMM: the sparse library a user would pick instead (library peer).
    t.push_back({{"spmm", "mkl", "csr", {"csr"}, mkl_unavailable, pattern_fits_csr, false, true}, spmm_mkl_csr});
    return t;
  }();
  return table;
}

const std::vector<SpmmDenseRoute>& spmm_dense_routes() {
  static const std::vector<SpmmDenseRoute> table = {
      {{"spmm", "openmp", "masked", {"dense"}, always, pattern_fits_csr}, "openmp", false},
      {{"spmm", "openmp", "structured", {"dense"}, always, pattern_is_structured}, "openmp", true},
      {{"spmm", "openblas", "structured", {"dense"}, openblas_status, pattern_is_structured}, "openblas", true},
      {{"spmm", "mkl", "structured", {"dense"}, mkl_unavailable, pattern_is_structured}, "mkl", true},
  };
  return table;
}

std::vector<std::string> spmm_kernel_ids() {
  std::vector<std::string> ids;
  for (const auto& k : spmm_kernels()) ids.push_back(k.info.id());
  for (const auto& r : spmm_dense_routes()) ids.push_back(r.info.id());
  return ids;
}

const Kernel<SpmmFn>* find_spmm_kernel(const std::string& backend, const std::string& format) {
  for (const auto& k : spmm_kernels())
    if (k.info.backend == backend && k.info.variant == format) return &k;
  return nullptr;
}

}  // namespace pb
