// The AVX-512 instances' logic on emulated 16-lane vectors (kernels/simd/simd_emu512.h), from the test-only library
// pb_kernels_emu512: where this CPU runs AVX2 but not AVX-512, the tests run them beside the ISA instances it runs,
// so that AVX-512's tiles are checked against the oracle on every machine. Nothing else links them: they are never
// dispatched to or timed.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "prunebench/conv.h"
#include "prunebench/cpu.h"
#include "prunebench/gemm.h"
#include "prunebench/spmm.h"

namespace pb::emu512 {

void gemm_openmp(const GemmArgs& g);
std::vector<Kernel<SpmmFn>> spmm_openmp_table();
void conv_sparse_direct(const ConvArgs& a);
void conv_dense_direct(const ConvArgs& a);

constexpr const char* kIsa = "avx512emu";

// Where the native AVX-512 instances do not run here and the emulated ones can (their units are compiled like the
// AVX2 ones). PB_MAX_ISA=avx2 on an AVX-512 machine counts as no AVX-512, as it does for dispatch.
inline bool runs_here() { return !cpu::has_avx512f() && cpu::has_avx2_fma(); }

// The ISA instances of one kernel (cpu::isa_instances), with the emulated one last where it runs here.
template <class Fn>
std::vector<std::pair<std::string, Fn>> with(std::vector<std::pair<std::string, Fn>> v, Fn emulated) {
  if (runs_here()) v.emplace_back(kIsa, emulated);
  return v;
}

}  // namespace pb::emu512
