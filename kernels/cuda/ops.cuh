// Factories of the library-backed ops that live in their own files; make_gemm / make_spmm (gpu.h) route to them
// by the variant's prefix ("cublaslt_<dtype>", "cusparselt_<dtype>").
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "prunebench/gpu.h"

namespace pb::gpu::detail {

std::unique_ptr<Op> make_lt_gemm(const std::string& dtype, index_t M, index_t N, index_t K, const float* A, const float* B);
// C = W B with W (M x K) already pruned to the 50% pattern cuSPARSELt takes for dtype (2:4; 1:2 for tf32).
std::unique_ptr<Op> make_cusparselt_spmm(const std::string& dtype, const Csr& W, index_t N, const float* B);
// cuSPARSELt's own pruning (cusparseLtSpMMAPrune, strip mode: the largest 2 of every 4 along K; 1 of 2 for tf32)
// of a dense M x K matrix rounded to dtype, widened back to FP32: what the tests hold our N:M pruning against.
std::vector<float> cusparselt_prune(const std::string& dtype, const float* W, index_t M, index_t K);
int cusparselt_version();               // cusparseLtGetVersion, 0 without the library or a device

}  // namespace pb::gpu::detail
