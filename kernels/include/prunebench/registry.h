// The one registry: every kernel is described once (op, backend, variant, formats, capability check).
// Tests and benchmarks iterate these tables, so registering a kernel is what gets it tested and timed.
#pragma once
#include <string>
#include <vector>

namespace pb {

struct KernelInfo {
  std::string op;       // "gemm", "spmm", ...
  std::string backend;  // naive, eigen, openmp, openblas, onednn, cuda, cublas, cusparse, cudnn
  std::string variant;  // optional: "fma", "csr", "masked", ...
  std::vector<std::string> formats;  // sparse formats accepted; empty for dense ops
  // Empty when the kernel can run on this machine and build; otherwise the reason (library not built, ISA
  // missing, no GPU). Benchmarks report the reason with SkipWithError so the JSON has the same rows everywhere.
  std::string (*unavailable)() = nullptr;
  // The pruning patterns the kernel serves ("random", "magnitude", "block4x4", "2:4", "file" for a real pattern,
  // "filters"/"channels"/"rows" for structured pruning, "dense" for unpruned weights): benchmarks, tests and the
  // config ask this, not the variant's spelling. Null: the kernel takes no pruned weights.
  bool (*serves_fn)(const std::string& pattern) = nullptr;
  // A dense kernel every pruned row of the same problem is judged against (speedups are over the fastest one).
  bool dense_baseline = false;
  // The library a user would pick instead for this op and format (OpenBLAS, oneDNN, cuBLAS, cuSPARSE): the
  // reference the summary and report quote ratios against.
  bool library_peer = false;

  std::string why_unavailable() const { return unavailable ? unavailable() : std::string(); }
  bool available() const { return why_unavailable().empty(); }
  bool serves(const std::string& pattern) const { return serves_fn && serves_fn(pattern); }
  // "backend" or "backend/variant": the part of a benchmark name after the family.
  std::string id() const { return variant.empty() ? backend : backend + "/" + variant; }
};

template <class Fn>
struct Kernel {
  KernelInfo info;
  Fn run;
};

// Every kernel of every op, for listing (`prunebench --list-kernels`) and for tests that iterate all ops.
std::vector<KernelInfo> all_kernels();

}  // namespace pb
