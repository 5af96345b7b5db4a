// conv rows of the registry: variant = algorithm. Formats name what the filters must be given as.
#include "prunebench/conv.h"
#include "prunebench/gemm.h"  // eigen_isa_status
#include "prunebench/prune.h"

namespace pb {

namespace {
std::string always() { return {}; }
bool dense_or_structured(const std::string& p) { return pattern_is_dense(p) || pattern_is_structured(p); }
std::string onednn_status() {
#ifdef PB_HAVE_ONEDNN
  return {};
#else
  return "oneDNN was not found at configure time (install libdnnl-dev)";
#endif
}
}  // namespace

const std::vector<Kernel<ConvFn>>& conv_kernels() {
  static const std::vector<Kernel<ConvFn>> table = {
      {{"conv", "naive", "direct", {"dense"}, always, pattern_is_dense, true}, conv_naive},
      {{"conv", "eigen", "im2col", {"dense"}, eigen_isa_status, pattern_is_dense, true}, conv_eigen_im2col},
      // The structured rows (pattern:filters, pattern:channels) run these dense kernels on the smaller layer.
      {{"conv", "openmp", "im2col", {"dense"}, always, dense_or_structured, true}, conv_openmp},
      {{"conv", "openmp", "direct", {"dense"}, always, dense_or_structured, true}, conv_openmp_direct},
      {{"conv", "onednn", "direct", {"dense"}, onednn_status, dense_or_structured, true, true}, conv_onednn},
      {{"conv", "openmp", "sparse_direct", {"csr"}, always, pattern_fits_csr}, conv_openmp_sparse_direct},
      {{"conv", "openmp", "sparse_im2col", {"csr"}, always, pattern_fits_csr}, conv_openmp_sparse_im2col},
      {{"conv", "openmp", "sparse_auto", {"csr"}, always, pattern_fits_csr}, conv_openmp_sparse_auto},
      {{"conv", "openmp", "bsr_im2col", {"bsr"}, always, pattern_fits_bsr}, conv_openmp_bsr_im2col},
      {{"conv", "openmp", "nm_im2col", {"nm"}, always, pattern_fits_nm}, conv_openmp_nm_im2col},
  };
  return table;
}

}  // namespace pb
