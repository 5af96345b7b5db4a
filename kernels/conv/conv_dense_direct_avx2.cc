// avx2 instance of the dense direct convolution (conv_dense_direct_impl.h).
#include "simd/simd_avx2.h"
#include "conv_dense_direct_impl.h"

namespace pb::detail {
void conv_dense_direct_avx2(const ConvArgs& a) { conv_dense_direct<SimdAvx2>(a); }
}  // namespace pb::detail
