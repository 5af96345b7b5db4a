// The direct convolutions, sparse (conv_sparse_direct_impl.h) and dense (conv_dense_direct_impl.h): each runs the
// widest ISA instance this CPU runs (the rule of gemm_openmp and spmm_openmp); the tests get every instance.
#include "prunebench/conv.h"
#include "prunebench/cpu.h"

namespace pb {

namespace detail {
void conv_sparse_direct_avx512(const ConvArgs& a);
void conv_sparse_direct_avx2(const ConvArgs& a);
void conv_sparse_direct_generic(const ConvArgs& a);
void conv_dense_direct_avx512(const ConvArgs& a);
void conv_dense_direct_avx2(const ConvArgs& a);
void conv_dense_direct_generic(const ConvArgs& a);
}  // namespace detail

std::vector<std::pair<std::string, ConvFn>> conv_sparse_direct_isa_variants() {
  return cpu::isa_instances<ConvFn>(detail::conv_sparse_direct_avx512, detail::conv_sparse_direct_avx2,
                                    detail::conv_sparse_direct_generic);
}

std::vector<std::pair<std::string, ConvFn>> conv_dense_direct_isa_variants() {
  return cpu::isa_instances<ConvFn>(detail::conv_dense_direct_avx512, detail::conv_dense_direct_avx2,
                                    detail::conv_dense_direct_generic);
}

void conv_openmp_sparse_direct(const ConvArgs& a) {
  static const ConvFn widest = conv_sparse_direct_isa_variants().front().second;
  widest(a);
}

void conv_openmp_direct(const ConvArgs& a) {
  static const ConvFn widest = conv_dense_direct_isa_variants().front().second;
  widest(a);
}

}  // namespace pb
