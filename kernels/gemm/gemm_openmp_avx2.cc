// AVX2+FMA instance of the blocked GEMM; compiled with -mavx2 -mfma (see kernels/CMakeLists.txt).
// 6x16 tile: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of 16 registers; 12 independent FMA chains
// cover 2 FMA ports x 4-5 cycles latency (Haswell through Zen 4).
#include "gemm_openmp_impl.h"
#include "simd/simd_avx2.h"

namespace {
struct Avx2 : SimdAvx2 {
  static constexpr int MR = 6, NV = 2, NR = NV * L;
  static constexpr index_t MC = 144, KC = 256, NC = 4080;
};
}  // namespace

namespace pb::detail {
void gemm_openmp_avx2(const GemmArgs& g) { gemm_blocked<Avx2>(g); }
}  // namespace pb::detail
