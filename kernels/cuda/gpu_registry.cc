// The GPU rows of the registry: the same KernelInfo as the CPU tables, plus the factory variant make_gemm /
// make_spmm / make_conv take and the dtype the row computes in. Compiled with or without CUDA: a build without it
// lists the kernels with the reason they cannot run. bench/gpu.cc registers rows from this table and
// tests/test_gpu.cc checks every entry against the oracle; nothing else spells a GPU kernel's name.
#include "prunebench/gpu.h"
#include "prunebench/prune.h"

namespace pb::gpu {

namespace {
std::string status() { return why_unavailable(); }
// Blocked-ELL takes square blocks only (cuSPARSE's ELL block is b x b).
bool square_blocks(const std::string& p) {
  try {
    const PatternSpec s = parse_pattern(p);
    return s.kind == PatternSpec::block && s.r == s.c;
  } catch (const std::invalid_argument&) {
    return false;
  }
}
}  // namespace

const std::vector<GpuKernel>& gpu_kernels() {
  static const std::vector<GpuKernel> table = {
      // GEMM: ours (FP32, no dtype key in the row name) and cuBLAS at each precision, cuBLASLt BF16.
      {{"gemm", "cuda", "naive", {}, status, pattern_is_dense, true}, "naive", ""},
      {{"gemm", "cuda", "tiled", {}, status, pattern_is_dense, true}, "tiled", ""},
      {{"gemm", "cublas", "", {}, status, pattern_is_dense, true, true}, "cublas_f32", "f32"},
      {{"gemm", "cublas", "", {}, status, pattern_is_dense, true}, "cublas_tf32", "tf32", true},
      {{"gemm", "cublas", "", {}, status, pattern_is_dense, true}, "cublas_bf16", "bf16", true},
      {{"gemm", "cublas", "lt", {}, status, pattern_is_dense, true}, "cublaslt_bf16", "bf16", true},
      // SpMM on CSR weights (ours and cuSPARSE's), and cuSPARSE Blocked-ELL (tensor cores, TF32 inputs).
      {{"spmm", "cuda", "csr", {"csr"}, status, pattern_fits_csr}, "csr", ""},
      {{"spmm", "cuda", "csr_tiled", {"csr"}, status, pattern_fits_csr}, "csr_tiled", ""},
      {{"spmm", "cusparse", "csr", {"csr"}, status, pattern_fits_csr, false, true}, "cusparse_csr", ""},
      {{"spmm", "cusparse", "bell", {"bell"}, status, square_blocks}, "cusparse_bell", "", true},
      // Convolution, dense: ours and cuDNN's fastest forward algorithm.
      {{"conv", "cuda", "direct", {"dense"}, status, pattern_is_dense, true}, "direct", ""},
      {{"conv", "cudnn", "direct", {"dense"}, status, pattern_is_dense, true, true}, "cudnn", ""},
  };
  return table;
}

}  // namespace pb::gpu
