// Portable instance of the blocked GEMM (any CPU GCC/Clang targets): 128-bit vector extensions, separate
// multiply and add (no FMA is assumed). The fallback when neither AVX2 nor AVX-512 is present.
#include "gemm_openmp_impl.h"
#include "simd/simd_generic.h"

namespace {
struct Generic : SimdGeneric {
  static constexpr int MR = 4, NV = 2, NR = NV * L;
  static constexpr index_t MC = 128, KC = 256, NC = 4096;
};
}  // namespace

namespace pb::detail {
void gemm_openmp_generic(const GemmArgs& g) { gemm_blocked<Generic>(g); }
}  // namespace pb::detail
