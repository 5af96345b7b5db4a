// avx512 instance of the register-tiled direct sparse convolution (conv_sparse_direct_impl.h).
#include "simd/simd_avx512.h"
#include "conv_sparse_direct_impl.h"

namespace pb::detail {
void conv_sparse_direct_avx512(const ConvArgs& a) { conv_sparse_direct<SimdAvx512>(a); }
}  // namespace pb::detail
