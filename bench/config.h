// Problem sets: the embedded profiles (quick, default, full) and user config files share one schema and one
// validator, so a user's file is checked exactly as strictly as our own profiles.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard.h"
#include "prunebench/conv.h"
#include "prunebench/types.h"

namespace pb::bench {

// One line naming the file, the key and the reason; main() prints it and exits with 2.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct GemmShape {
  index_t M, N, K;
};

// Ceilings (bench/peak.cc, bench/memory.cc). A family runs when its key is present.
struct PeakSpec {
  bool enabled = false;
  std::vector<std::string> dtypes;  // f32, f64
};
struct LatencyOpSpec {
  bool enabled = false;
  std::vector<std::string> ops;     // fma, add, mul, div
  std::vector<std::string> dtypes;  // f32, f64
};
struct MemSpec {
  bool enabled = false;
  std::vector<std::string> kinds;   // mem_bw: read, write, copy, triad, *_nt; mem_lat: chase, stride
  std::vector<index_t> bytes;       // working sets, ascending
};

// One SpMM problem family: generated weights (M, K) pruned by each pattern at each sparsity, a user's .npy
// weights pruned the same way, or real .smtx patterns (a file, or every .smtx under a directory).
struct SpmmEntry {
  index_t M = 0, K = 0;              // generated weights
  std::string npy, smtx;             // or a file (npy) / file or directory (smtx), absolute paths
  std::vector<index_t> N;            // activation columns
  std::string batchsizes;            // smtx only: "stem,N" lines overriding N per file (DLMC rn50_batchsizes.txt)
  std::vector<double> sparsity;      // generated and npy; for smtx, a filter on the files' own sparsity
  std::vector<std::string> patterns; // generated and npy
  std::vector<std::string> kernels;  // "<backend>/<format>" to run; empty = all that apply
};

// One convolution layer (NCHW, KCRS) and the pruning applied to its filters: sparsity 0 runs the dense ladder;
// above 0, each pattern: magnitude (unstructured, sparse kernels), filters / channels (structured: the smaller
// dense convolution).
struct ConvEntry {
  pb::ConvShape shape;
  std::vector<double> sparsity;
  std::vector<std::string> patterns;
};

// GPU problems (bench/gpu.cc): run on the first CUDA device; rows skip with the reason where there is none.
struct GpuSpec {
  bool enabled = false;
  std::vector<index_t> copy_bytes, chase_bytes;  // ceilings sweeps
  std::vector<GemmShape> gemm;
  std::vector<SpmmEntry> spmm;                   // generated weights only (M, K, N, sparsity, pattern)
  std::vector<ConvEntry> conv;
  // Cold-L2 timing (nvbench's): "auto" flushes L2 before each timed run of a row whose compulsory working set
  // fits in L2 (where a warm L2 would flatter it), "on" for every compute row, "off" for none.
  std::string l2_flush = "auto";
  // Input distributions of the library GEMM rows on the `gemm` shapes: "uniform" (fill_random, every other row's)
  // and "normal" (fill_normal; the row gets an inputs:normal key), to see whether the data moves the clocks.
  std::vector<std::string> gemm_inputs = {"uniform"};
};

struct Config {
  std::string profile;        // "quick", "default", "full", or "config" for a user file
  std::string source;         // where it came from, for error messages and the context block
  std::vector<int> threads;   // thread counts each threaded backend is run with
  int repetitions = 1;        // Google Benchmark repetitions (medians and spreads need >= 3)
  double min_time = 0.1;      // seconds per repetition
  double naive_max_gflop = 1.0;  // the scalar rung only on problems it finishes quickly
  std::vector<GemmShape> gemm;
  PeakSpec peak;
  LatencyOpSpec latency_op;
  MemSpec mem_bw, mem_lat;
  std::vector<SpmmEntry> spmm;
  std::vector<ConvEntry> conv;
  GpuSpec gpu;
  GuardSettings guard;        // "guard": {"margin": 0.1, "memory_margin": 0.5, "steal": 0.05}, or false
  std::vector<std::string> warnings;  // non-fatal: an embedded profile's data set that is not on this machine
};

// Working-set sweep: 4 KiB x factor^i up to the DRAM size, which is max(4 x the last-level cache, 256 MiB),
// capped so the buffers take at most a quarter of available memory; the DRAM size itself is the last point.
std::vector<index_t> sweep_bytes(double factor);
index_t dram_bytes();

std::vector<std::string> profile_names();
Config load_profile(const std::string& name);      // throws ConfigError on an unknown name
Config load_config_file(const std::string& path);  // throws ConfigError on a bad file or value
Config parse_config(const nlohmann::json& j, const std::string& source, const std::string& profile);

// The embedded JSON text of a profile (generated from bench/profiles/*.json at build time).
const char* embedded_profile(const std::string& name);

}  // namespace pb::bench
