// generic instance of the dense direct convolution (conv_dense_direct_impl.h).
#include "simd/simd_generic.h"
#include "conv_dense_direct_impl.h"

namespace pb::detail {
void conv_dense_direct_generic(const ConvArgs& a) { conv_dense_direct<SimdGeneric>(a); }
}  // namespace pb::detail
