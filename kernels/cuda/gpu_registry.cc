// The GPU rows of the registry: the same KernelInfo as the CPU tables, plus the factory variant make_gemm /
// make_spmm / make_conv take and the dtype the row computes in. Compiled with or without CUDA: a build without it
// lists the kernels with the reason they cannot run. bench/gpu.cc registers rows from this table and
// tests/test_gpu.cc checks every entry against the oracle; nothing else spells a GPU kernel's name.
#include "prunebench/gpu.h"
#include "prunebench/prune.h"

namespace pb::gpu {

namespace {
std::string status() { return why_unavailable(); }
std::string status_fp8() { return why_unavailable_fp8(); }
std::string status_lt() { return why_unavailable_cusparselt(); }
std::string status_lt_fp8() {
  const std::string why = why_unavailable_cusparselt();
  return why.empty() ? why_unavailable_fp8() : why;
}
// cuSPARSELt's 50%: 2:4 along K for 16- and 8-bit inputs, 1:2 for 32-bit (TF32) ones.
bool two_of_four(const std::string& p) { return p == "2:4"; }
bool one_of_two(const std::string& p) { return p == "1:2"; }
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
      // GEMM: ours (FP32, no dtype key in the row name) and cuBLAS's classic API in FP32, TF32 and BF16.
      {{"gemm", "cuda", "naive", {}, status, pattern_is_dense, true}, "naive", ""},
      {{"gemm", "cuda", "tiled", {}, status, pattern_is_dense, true}, "tiled", ""},
      {{"gemm", "cublas", "", {}, status, pattern_is_dense, true, true}, "cublas_f32", "f32"},
      {{"gemm", "cublas", "", {}, status, pattern_is_dense, true}, "cublas_tf32", "tf32", true},
      {{"gemm", "cublas", "", {}, status, pattern_is_dense, true}, "cublas_bf16", "bf16", true},
      // cuBLASLt at every precision of precision.h: the dense kernel a sparse row of that precision is judged against.
      {{"gemm", "cublas", "lt", {}, status, pattern_is_dense, true}, "cublaslt_f32", "f32"},
      {{"gemm", "cublas", "lt", {}, status, pattern_is_dense, true}, "cublaslt_tf32", "tf32", true},
      {{"gemm", "cublas", "lt", {}, status, pattern_is_dense, true}, "cublaslt_f16", "f16", true},
      {{"gemm", "cublas", "lt", {}, status, pattern_is_dense, true}, "cublaslt_bf16", "bf16", true},
      {{"gemm", "cublas", "lt", {}, status, pattern_is_dense, true}, "cublaslt_i8", "i8", true},
      {{"gemm", "cublas", "lt", {}, status_fp8, pattern_is_dense, true}, "cublaslt_e4m3", "e4m3", true},
      // SpMM on CSR weights (ours and cuSPARSE's), and cuSPARSE Blocked-ELL on tensor cores (FP32 data as TF32,
      // and 16-bit data).
      {{"spmm", "cuda", "csr", {"csr"}, status, pattern_fits_csr}, "csr", ""},
      {{"spmm", "cuda", "csr_tiled", {"csr"}, status, pattern_fits_csr}, "csr_tiled", ""},
      {{"spmm", "cusparse", "csr", {"csr"}, status, pattern_fits_csr, false, true}, "cusparse_csr", ""},
      {{"spmm", "cusparse", "bell", {"bell"}, status, square_blocks}, "cusparse_bell", "", true},
      {{"spmm", "cusparse", "bell", {"bell"}, status, square_blocks}, "cusparse_bell_f16", "f16", true},
      {{"spmm", "cusparse", "bell", {"bell"}, status, square_blocks}, "cusparse_bell_bf16", "bf16", true},
      // 2:4 on sparse tensor cores (cuSPARSELt), the library peer for N:M weights at each precision.
      {{"spmm", "cusparselt", "", {"nm"}, status_lt, one_of_two, false, true}, "cusparselt_tf32", "tf32", true},
      {{"spmm", "cusparselt", "", {"nm"}, status_lt, two_of_four, false, true}, "cusparselt_f16", "f16", true},
      {{"spmm", "cusparselt", "", {"nm"}, status_lt, two_of_four, false, true}, "cusparselt_bf16", "bf16", true},
      {{"spmm", "cusparselt", "", {"nm"}, status_lt, two_of_four, false, true}, "cusparselt_i8", "i8", true},
      {{"spmm", "cusparselt", "", {"nm"}, status_lt_fp8, two_of_four, false, true}, "cusparselt_e4m3", "e4m3", true},
      // Convolution, dense: ours and cuDNN's fastest forward algorithm.
      {{"conv", "cuda", "direct", {"dense"}, status, pattern_is_dense, true}, "direct", ""},
      {{"conv", "cudnn", "direct", {"dense"}, status, pattern_is_dense, true, true}, "cudnn", ""},
  };
  return table;
}

}  // namespace pb::gpu
