// generic instance of the register-tiled direct sparse convolution (conv_sparse_direct_impl.h).
#include "simd/simd_generic.h"
#include "conv_sparse_direct_impl.h"

namespace pb::detail {
void conv_sparse_direct_generic(const ConvArgs& a) { conv_sparse_direct<SimdGeneric>(a); }
}  // namespace pb::detail
