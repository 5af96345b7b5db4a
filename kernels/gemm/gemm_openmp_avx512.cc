// AVX-512F instance of the blocked GEMM; compiled with -mavx512f -mfma (see kernels/CMakeLists.txt).
// 12x32 tile: 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of 32 registers; 24 independent chains cover
// 2 FMA ports x 4 cycles with room to spare. Same template as the AVX2 instance, so the tests that run the AVX2
// path on machines without AVX-512 exercise the same packing, blocking and edge logic.
#include "gemm_openmp_impl.h"
#include "simd/simd_avx512.h"

namespace {
struct Avx512 : SimdAvx512 {
  static constexpr int MR = 12, NV = 2, NR = NV * L;
  static constexpr index_t MC = 240, KC = 256, NC = 3072;
};
}  // namespace

namespace pb::detail {
void gemm_openmp_avx512(const GemmArgs& g) { gemm_blocked<Avx512>(g); }
}  // namespace pb::detail
