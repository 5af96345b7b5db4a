// The AVX-512 dense direct convolution's logic on emulated 16-lane vectors, for the tests only (simd/simd_emu512.h).
#include "conv_dense_direct_impl.h"
#include "prunebench/emu512.h"
#include "simd/simd_emu512.h"

namespace pb::emu512 {
void conv_dense_direct(const ConvArgs& a) { pb::detail::conv_dense_direct<SimdEmu512>(a); }
}  // namespace pb::emu512
