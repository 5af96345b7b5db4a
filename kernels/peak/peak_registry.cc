// peak rows of the registry (latency_op rows are enumerated by bench/peak.cc from LatOp x Dtype).
#include "prunebench/cpu.h"
#include "prunebench/gemm.h"  // eigen_isa_status
#include "prunebench/peak.h"

namespace pb {

namespace {
std::string always() { return {}; }
// latency_op.cc is compiled with -mfma (one instruction per fma), so the whole file needs an FMA-capable CPU.
std::string needs_fma() { return cpu::has_avx2_fma() ? std::string() : "this CPU has no FMA (AVX2+FMA)"; }
}  // namespace

const std::vector<PeakKernel>& peak_kernels() {
  static const std::vector<PeakKernel> table = {
      {{"peak", "naive", "fma", {}, always}, peak_naive, false},
      {{"peak", "eigen", "fma", {}, eigen_isa_status}, peak_eigen, false},
      {{"peak", "openmp", "fma", {}, always}, peak_openmp, true},
  };
  return table;
}

const std::vector<LatKernel>& latency_kernels() {
  static const std::vector<LatKernel> table = {
      {{"latency_op", "naive", "fma", {}, needs_fma}, LatOp::fma},
      {{"latency_op", "naive", "add", {}, needs_fma}, LatOp::add},
      {{"latency_op", "naive", "mul", {}, needs_fma}, LatOp::mul},
      {{"latency_op", "naive", "div", {}, needs_fma}, LatOp::div},
  };
  return table;
}

}  // namespace pb
