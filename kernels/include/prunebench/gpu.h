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
  std::string name;
  int sm_count = 0, clock_mhz = 0, runtime = 0, driver = 0, cublas = 0, cudnn = 0;
  long long mem_bytes = 0;
};
DeviceInfo device_info();

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
  double time_ms(int reps);

 protected:
  void* stream_ = nullptr;  // cudaStream_t
};

// GEMM, row-major C = A * B. variant: "naive" (one thread per output), "tiled" (shared memory + register
// blocking), "cublas_f32", "cublas_tf32" (tensor cores, TF32 inputs), "cublas_bf16" (BF16 inputs and output, FP32 accumulate),
// "cublaslt_bf16" (the same through cuBLASLt: 32 MiB workspace, fastest of up to 8 heuristic candidates timed at set-up).
std::unique_ptr<Op> make_gemm(const std::string& variant, index_t M, index_t N, index_t K, const float* A, const float* B);
// SpMM, C = W (CSR, M x K) * B (K x N). variant: "csr" (ours: a warp per row range balanced by non-zeros, vector
// loads across N), "csr_tiled" (ours: 128 x 128 tiles of C, B staged in shared memory per K chunk and shared by the
// tile's rows), "cusparse_csr", "cusparse_bell" (cuSPARSE Blocked-ELL; `block` is its square block size).
std::unique_ptr<Op> make_spmm(const std::string& variant, const Csr& W, index_t N, const float* B, int block = 0);
// Convolution. variant: "direct" (ours, one thread per output), "cudnn" (cuDNN's fastest forward algorithm).
std::unique_ptr<Op> make_conv(const std::string& variant, const ConvShape& s, const float* x, const float* w);

// The GPU rows of the registry (kernels/cuda/gpu_registry.cc): each kernel's KernelInfo (op, backend, variant,
// formats, serves, dense baseline, why unavailable) as in the CPU tables, the factory variant the make_* function
// above takes, and the dtype its rows compute in ("" for our FP32 kernels, whose names carry no dtype key).
struct GpuKernel {
  KernelInfo info;
  std::string factory;
  std::string dtype;
  bool lowp = false;  // inputs rounded to TF32 or BF16 on tensor cores: checked with the low-precision tolerance
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
