// AVX-512F instance of the blocked GEMM; compiled with -mavx512f -mfma (see kernels/CMakeLists.txt). Its tiles are in
// gemm_openmp_avx512_tiles.h. Same template as the AVX2 instance, so the tests that run the AVX2 path on machines
// without AVX-512 exercise the same packing, blocking and edge logic (and the emulated instance its tile sizes).
#include "gemm_openmp_avx512_tiles.h"
#include "simd/simd_avx512.h"

namespace pb::detail {
void gemm_openmp_avx512(const GemmArgs& g) { gemm_blocked<Avx512Tiles<SimdAvx512>>(g); }
}  // namespace pb::detail
