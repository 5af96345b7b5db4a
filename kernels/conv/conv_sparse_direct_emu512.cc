// The AVX-512 direct sparse convolution's logic on emulated 16-lane vectors, for the tests only (simd/simd_emu512.h).
#include "conv_sparse_direct_impl.h"
#include "prunebench/emu512.h"
#include "simd/simd_emu512.h"

namespace pb::emu512 {
void conv_sparse_direct(const ConvArgs& a) { pb::detail::conv_sparse_direct<SimdEmu512>(a); }
}  // namespace pb::emu512
