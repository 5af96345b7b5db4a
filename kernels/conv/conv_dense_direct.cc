// The dense direct convolution: the widest ISA instance of conv_dense_direct_impl.h this CPU runs (the rule of
// gemm_openmp and spmm_openmp); every instance for the tests.
#include "prunebench/conv.h"
#include "prunebench/cpu.h"

namespace pb {

namespace detail {
void conv_dense_direct_avx512(const ConvArgs& a);
void conv_dense_direct_avx2(const ConvArgs& a);
void conv_dense_direct_generic(const ConvArgs& a);
}  // namespace detail

std::vector<std::pair<std::string, ConvFn>> conv_dense_direct_isa_variants() {
  std::vector<std::pair<std::string, ConvFn>> v;
  if (cpu::has_avx512f()) v.emplace_back("avx512", detail::conv_dense_direct_avx512);
  if (cpu::has_avx2_fma()) v.emplace_back("avx2", detail::conv_dense_direct_avx2);
  v.emplace_back("generic", detail::conv_dense_direct_generic);
  return v;
}

void conv_openmp_direct(const ConvArgs& a) {
  static const ConvFn widest = conv_dense_direct_isa_variants().front().second;
  widest(a);
}

}  // namespace pb
