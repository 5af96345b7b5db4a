// The AVX-512 GEMM's tile and block sizes, shared by its native instance (gemm_openmp_avx512.cc) and its emulated one
// (gemm_openmp_emu512.cc, for the tests), so that the tests check the blocking AVX-512 machines run.
// 12x32 tile: 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of 32 registers; 24 independent chains cover
// 2 FMA ports x 4 cycles with room to spare.
#pragma once
#include "gemm_openmp_impl.h"

namespace {
template <class S>
struct Avx512Tiles : S {
  static constexpr int MR = 12, NV = 2, NR = NV * S::L;
  static constexpr index_t MC = 240, KC = 256, NC = 3072;
};
}  // namespace
