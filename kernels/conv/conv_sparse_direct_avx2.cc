// avx2 instance of the register-tiled direct sparse convolution (conv_sparse_direct_impl.h).
#include "simd/simd_avx2.h"
#include "conv_sparse_direct_impl.h"

namespace pb::detail {
void conv_sparse_direct_avx2(const ConvArgs& a) { conv_sparse_direct<SimdAvx2>(a); }
}  // namespace pb::detail
