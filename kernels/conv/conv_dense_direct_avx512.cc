// avx512 instance of the dense direct convolution (conv_dense_direct_impl.h).
#include "simd/simd_avx512.h"
#include "conv_dense_direct_impl.h"

namespace pb::detail {
void conv_dense_direct_avx512(const ConvArgs& a) { conv_dense_direct<SimdAvx512>(a); }
}  // namespace pb::detail
