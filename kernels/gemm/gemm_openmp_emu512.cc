// The AVX-512 GEMM's blocking on emulated 16-lane vectors, for the tests only (see simd/simd_emu512.h).
#include "gemm_openmp_avx512_tiles.h"
#include "prunebench/emu512.h"
#include "simd/simd_emu512.h"

namespace pb::emu512 {
void gemm_openmp(const GemmArgs& g) { gemm_blocked<Avx512Tiles<SimdEmu512>>(g); }
}  // namespace pb::emu512
