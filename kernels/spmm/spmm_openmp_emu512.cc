// The AVX-512 SpMM kernels' logic on emulated 16-lane vectors, for the tests only (see simd/simd_emu512.h).
#include "prunebench/emu512.h"
#include "simd/simd_emu512.h"
#include "spmm_openmp_impl.h"

namespace pb::emu512 {
std::vector<Kernel<SpmmFn>> spmm_openmp_table() { return openmp_spmm_table<SimdEmu512>(); }
}  // namespace pb::emu512
