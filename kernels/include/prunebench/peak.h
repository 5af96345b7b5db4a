// Arithmetic ceilings: FMA throughput with enough independent chains to fill every FMA port, and instruction
// latency with a single dependent chain.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "prunebench/registry.h"

namespace pb {

enum class Dtype { f32, f64 };
inline const char* dtype_name(Dtype d) { return d == Dtype::f32 ? "f32" : "f64"; }

// Each thread runs `steps` rounds of `chains` independent FMA chains, `lanes` wide (x = x*b + c). The chains
// start at distinct values and the result (their sum) is returned so nothing is dead code; an empty asm
// statement that claims to modify every accumulator each round keeps the compiler from folding the chains
// (b=1, c=1 would let it compute x + steps in one add) or keeping fewer of them in registers.
struct PeakRun {
  double flops;     // floating-point operations performed (2 per FMA lane)
  double checksum;  // sum of the final accumulators over all threads and chains
  int chains, lanes;  // per thread: chain i starts at 1 + 0.001 * i in every lane
};
using PeakFn = PeakRun (*)(Dtype, std::int64_t steps, int threads, double b, double c);

PeakRun peak_naive(Dtype, std::int64_t steps, int threads, double b, double c);
PeakRun peak_eigen(Dtype, std::int64_t steps, int threads, double b, double c);
PeakRun peak_openmp(Dtype, std::int64_t steps, int threads, double b, double c);

// Which vector width peak_openmp uses on this CPU ("avx512", "avx2", "generic").
std::string peak_openmp_isa();

struct PeakKernel {
  KernelInfo info;
  PeakFn run;
  bool threaded;  // false: one thread by definition (naive, eigen)
};
const std::vector<PeakKernel>& peak_kernels();

// One dependent chain of `steps` operations starting at x0; returns the final value. Ops: x = fma(x, b, c),
// x + c, x * b, x / b. Integer add (i64, x = x + c) is the 1-cycle reference that turns ns into cycles.
enum class LatOp { fma, add, mul, div };
inline const char* latop_name(LatOp o) {
  switch (o) {
    case LatOp::fma: return "fma";
    case LatOp::add: return "add";
    case LatOp::mul: return "mul";
    default: return "div";
  }
}
double latency_chain(LatOp op, Dtype dt, std::int64_t steps, double x0, double b, double c);
std::int64_t latency_chain_i64(std::int64_t steps, std::int64_t x0, std::int64_t c);

struct LatKernel {
  KernelInfo info;  // variant = op name
  LatOp op;
};
const std::vector<LatKernel>& latency_kernels();

}  // namespace pb
