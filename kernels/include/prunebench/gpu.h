// CUDA backends behind a plain C++ interface (no CUDA headers here), so the benchmarks and tests compile the
// same with or without nvcc. Without CUDA at configure time every factory throws and why_unavailable() says so.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "prunebench/conv.h"
#include "prunebench/registry.h"
#include "prunebench/sparse.h"

namespace pb::gpu {

// Empty when a CUDA device is usable; otherwise why not ("built without CUDA", "no CUDA device: ...").
std::string why_unavailable();

struct DeviceInfo {
  std::string name, pci_bus_id;
  int sm_count = 0, clock_mhz = 0, runtime = 0, driver = 0, cublas = 0, cudnn = 0, cusparselt = 0;
  int cc_major = 0, cc_minor = 0;
  long long mem_bytes = 0, l2_bytes = 0;
};
DeviceInfo device_info();
// Why a precision or an optional library cannot run here; empty when it can. FP8 (e4m3) tensor cores need
// compute capability 8.9 or later; cuSPARSELt is optional at build time (pip install nvidia-cusparselt-cu13).
std::string why_unavailable_fp8();
std::string why_unavailable_cusparselt();

// The GPU's clocks and the reasons NVML gives for holding them down, read through the driver's libnvidia-ml
// (opened at run time: nothing to link, and a machine without the driver says so in `why`). nvbench reads the
// same before and after each measurement. `pci_bus_id` picks the device (DeviceInfo::pci_bus_id; empty: index 0).
struct Clocks {
  bool ok = false;
  std::string why;  // when !ok
  unsigned sm_mhz = 0, mem_mhz = 0, sm_max_mhz = 0, mem_max_mhz = 0;
  unsigned long long reasons = 0;  // nvmlClocksEventReason* bits
};
Clocks read_clocks(const std::string& pci_bus_id);
// The reasons that slow a measurement down (power cap, thermal, hardware slowdown, power brake, board limit,
// reliability), not the benign ones (idle, application clocks, sync boost, display clock).
constexpr unsigned long long kSlowdownReasons = 0x4 | 0x8 | 0x20 | 0x40 | 0x80 | 0x200 | 0x400;
std::string reason_words(unsigned long long reasons);  // "sw_power_cap hw_thermal", "" for none

// One prepared GPU operation: inputs uploaded at creation (not timed); run() enqueues the work on the op's
// stream; time_ms() times `reps` back-to-back runs with CUDA events after one warm-up and returns ms per run;
// download() copies the output back (synchronizing).
class Op {
 public:
  virtual ~Op() = default;
  virtual void run() = 0;
  virtual void download(float* host) = 0;
  // What a library chose for this problem (its algorithm, tile, math mode), for the row's label; empty for our
  // own kernels, whose code is the choice.
  virtual std::string chosen() const { return {}; }
  // One-off preparation outside timing (cuSPARSELt's pruning check, compression and algorithm search), ms.
  virtual double setup_ms() const { return 0; }
  // Bytes of the weights as the kernel reads them, where its format is the library's own (cuSPARSELt's
  // compressed values and metadata); 0: the caller counts them from the format it handed over.
  virtual double weight_bytes() const { return 0; }
  // ms per run. cold_l2: nvbench's cold measurement, each run timed alone after a write to a buffer twice the
  // L2 size, so its inputs come from HBM rather than from the L2 the previous run left them in.
  double time_ms(int reps, bool cold_l2 = false);

 protected:
  void* stream_ = nullptr;  // cudaStream_t
};

// GEMM, row-major C = A * B. variant: "naive" (one thread per output), "tiled" (shared memory + register
// blocking), "cublas_f32", "cublas_tf32" (tensor cores, TF32 inputs), "cublas_bf16" (BF16 inputs and output, FP32 accumulate),
// "cublaslt_<dtype>" for every dtype of precision.h (cuBLASLt: 32 MiB workspace, fastest of up to 8 heuristic
// candidates timed at set-up; inputs rounded to the dtype at set-up, i8 quantised per matrix).
std::unique_ptr<Op> make_gemm(const std::string& variant, index_t M, index_t N, index_t K, const float* A, const float* B);
// SpMM, C = W (CSR, M x K) * B (K x N). variant: "csr" (ours: a warp per row range balanced by non-zeros, vector
// loads across N), "csr_tiled" (ours: 128 x 128 tiles of C, B staged in shared memory per K chunk and shared by the
// tile's rows), "cusparse_csr", "cusparse_bell" (cuSPARSE Blocked-ELL, FP32 data on TF32 tensor cores; `block`
// is its square block size), "cusparse_bell_f16" / "cusparse_bell_bf16" (the same at 16 bits, FP32 accumulate),
// "cusparselt_<dtype>" (cuSPARSELt on sparse tensor cores: W must already be 2:4 along K, 1:2 for tf32).
std::unique_ptr<Op> make_spmm(const std::string& variant, const Csr& W, index_t N, const float* B, int block = 0);
// cuSPARSELt's own pruning (cusparseLtSpMMAPrune, strip mode: the 2 largest of every 4 along K, 1 of 2 for tf32)
// of a dense M x K matrix rounded to dtype, widened back to FP32: what the tests hold our N:M pruning against.
std::vector<float> cusparselt_prune(const std::string& dtype, const float* W, index_t M, index_t K);
// Convolution. variant: "direct" (ours, one thread per output), "cudnn" (cuDNN's fastest forward algorithm).
std::unique_ptr<Op> make_conv(const std::string& variant, const ConvShape& s, const float* x, const float* w);

// The GPU rows of the registry (kernels/cuda/gpu_registry.cc): each kernel's KernelInfo (op, backend, variant,
// formats, serves, dense baseline, why unavailable) as in the CPU tables, the factory variant the make_* function
// above takes, and the dtype its rows compute in ("" for our FP32 kernels, whose names carry no dtype key).
struct GpuKernel {
  KernelInfo info;
  std::string factory;
  std::string dtype;
  bool lowp = false;  // inputs rounded on tensor cores: checked with the low-precision tolerance
  // The precision (precision.h) the kernel's inputs are computed in: its dtype, else TF32 for a tensor-core FP32
  // kernel (Blocked-ELL), else f32.
  std::string computes_in() const { return !dtype.empty() ? dtype : lowp ? "tf32" : "f32"; }
};
const std::vector<GpuKernel>& gpu_kernels();

// Ceilings, each measured on the device with CUDA events.
double copy_bandwidth(index_t bytes, const std::string& kind, int reps);  // kind: d2d, h2d_pinned, h2d_pageable,
                                                                           // d2h_pinned; bytes/s (read+write for d2d)
double launch_latency_us(bool graph, int launches);                       // per kernel launch, empty kernel
double fma_peak_flops(int reps);                                          // FP32, all SMs
double fma_latency_ns();                                                  // dependent FMA chain, one thread
double chase_ns_per_load(index_t bytes);                                  // one thread, random cycle of 128 B lines

}  // namespace pb::gpu
