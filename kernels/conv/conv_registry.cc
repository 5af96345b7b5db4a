// conv rows of the registry: variant = algorithm. Formats name what the filters must be given as.
#include "prunebench/conv.h"

namespace pb {

namespace {
std::string always() { return {}; }
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
      {{"conv", "naive", "direct", {"dense"}, always}, conv_naive},
      {{"conv", "eigen", "im2col", {"dense"}, always}, conv_eigen_im2col},
      {{"conv", "openmp", "im2col", {"dense"}, always}, conv_openmp},
      {{"conv", "onednn", "direct", {"dense"}, onednn_status}, conv_onednn},
      {{"conv", "openmp", "sparse_direct", {"csr"}, always}, conv_openmp_sparse_direct},
      {{"conv", "openmp", "sparse_im2col", {"csr"}, always}, conv_openmp_sparse_im2col},
      {{"conv", "openmp", "bsr_im2col", {"bsr"}, always}, conv_openmp_bsr_im2col},
      {{"conv", "openmp", "nm_im2col", {"nm"}, always}, conv_openmp_nm_im2col},
  };
  return table;
}

}  // namespace pb
