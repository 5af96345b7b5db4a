// Dense GEMM through cuBLASLt at every precision of prunebench/precision.h (f32, tf32, f16, bf16, i8, e4m3): the
// dense kernel a user would deploy at that precision, and so the one a sparse row of that precision is judged
// against. Planned once per shape as frameworks do: the 32 MiB workspace NVIDIA recommends for Hopper, up to
// eight candidates from the library's heuristic, each timed at set-up, the fastest kept.
//
// Layout: "TN", the one layout every cuBLASLt precision takes (INT8 and FP8 tensor-core kernels take no other):
// row-major C (M x N) = A (M x K) B is column-major C^T = op(B^T) A^T with B stored transposed (N x K, K
// contiguous, like the activations of a linear layer) and transposed back by the op. Leading dimensions are
// rounded up to 16 elements (the 16-byte rule of the 8-bit kernels); the padding is never read as data.
// Inputs are rounded at set-up, outside timing; i8 inputs are quantised symmetrically per matrix
// (lowp.cuh) and the INT32 result scaled back for the oracle.
#include <cublasLt.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "cuda_check.h"
#include "lowp.cuh"
#include "prunebench/gpu.h"

namespace pb::gpu::detail {

namespace {

struct LtTypes {
  cublasComputeType_t compute;
  cudaDataType scale;
};

LtTypes lt_types(const std::string& dtype) {
  if (dtype == "tf32") return {CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F};
  if (dtype == "i8") return {CUBLAS_COMPUTE_32I, CUDA_R_32I};
  return {CUBLAS_COMPUTE_32F, CUDA_R_32F};  // f32 (SIMT), and FP32 accumulation for f16, bf16, e4m3
}

class LtGemmOp : public Op {
 public:
  LtGemmOp(std::string dtype, index_t M, index_t N, index_t K, const float* A, const float* B)
      : dtype_(std::move(dtype)), in_(input_storage(dtype_)), out_(output_storage(dtype_)), M_(M), N_(N), K_(K),
        ldk_(round_up(std::max<index_t>(K, 1), 16)), ldc_(round_up(std::max<index_t>(N, 1), 16)) {
    cudaStream_t s;
    PB_CHECK(cudaStreamCreate(&s));
    stream_ = s;
    sa_ = quant_scale(dtype_, A, size_t(M * K));
    sb_ = quant_scale(dtype_, B, size_t(K * N));
    A_ = upload_as(in_, A, M, K, ldk_, false, sa_);   // M rows of K, row-major
    Bt_ = upload_as(in_, B, K, N, ldk_, true, sb_);   // N rows of K: B transposed
    C_ = DeviceArray<char>(size_t(M * ldc_) * storage_bytes(out_));
    Cf_ = DeviceArray<float>(size_t(M * N));
    if (M && N && K) plan();
  }
  ~LtGemmOp() override {
    if (c_) cublasLtMatrixLayoutDestroy(c_);
    if (b_) cublasLtMatrixLayoutDestroy(b_);
    if (a_) cublasLtMatrixLayoutDestroy(a_);
    if (op_) cublasLtMatmulDescDestroy(op_);
    if (lt_) cublasLtDestroy(lt_);
    if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  }

  void run() override {
    auto s = static_cast<cudaStream_t>(stream_);
    if (M_ == 0 || N_ == 0) return;
    if (K_ == 0) {  // C = 0, said here rather than left to the library's convention for an empty reduction
      PB_CHECK(cudaMemsetAsync(C_.p, 0, C_.n, s));
      return;
    }
    const float onef = 1.0f, zerof = 0.0f;
    const std::int32_t onei = 1, zeroi = 0;
    const bool ints = lt_types(dtype_).scale == CUDA_R_32I;
    const void* alpha = ints ? static_cast<const void*>(&onei) : &onef;
    const void* beta = ints ? static_cast<const void*>(&zeroi) : &zerof;
    PB_CHECK(cublasLtMatmul(lt_, op_, alpha, Bt_.p, a_, A_.p, b_, beta, C_.p, c_, C_.p, c_, &algo_, ws_.p, ws_.n, s));
  }

  void download(float* host) override {
    auto s = static_cast<cudaStream_t>(stream_);
    widen(out_, C_.p, M_, N_, ldc_, 1.0f / (sa_ * sb_), Cf_.p, s);
    copy_back(stream_, Cf_, host);
  }

  // "cublasLt i8 TN (INT32 accumulate) algo:21 tile:18 stages:22 splitK:1 (fastest of 8 timed)": the
  // configuration attributes name the kernel (tile and stage ids are cublasLtMatmulTile_t / _Stages_t values).
  std::string chosen() const override {
    if (!lt_) return {};
    auto attr = [&](cublasLtMatmulAlgoConfigAttributes_t a) {
      std::uint32_t v = 0;
      size_t written = 0;
      return cublasLtMatmulAlgoConfigGetAttribute(&algo_, a, &v, sizeof v, &written) == CUBLAS_STATUS_SUCCESS
                 ? std::to_string(v) : std::string("?");
    };
    const std::string acc = dtype_ == "i8" ? "INT32" : dtype_ == "tf32" ? "TF32 inputs, FP32" : "FP32";
    return "cublasLt " + dtype_ + " TN (" + acc + " accumulate) algo:" + attr(CUBLASLT_ALGO_CONFIG_ID) +
           " tile:" + attr(CUBLASLT_ALGO_CONFIG_TILE_ID) + " stages:" + attr(CUBLASLT_ALGO_CONFIG_STAGES_ID) +
           " splitK:" + attr(CUBLASLT_ALGO_CONFIG_SPLITK_NUM) + " (fastest of " + std::to_string(candidates_) + " timed)";
  }

 private:
  void plan() {
    const LtTypes t = lt_types(dtype_);
    PB_CHECK(cublasLtCreate(&lt_));
    PB_CHECK(cublasLtMatmulDescCreate(&op_, t.compute, t.scale));
    const cublasOperation_t trans = CUBLAS_OP_T;
    PB_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof trans));
    PB_CHECK(cublasLtMatrixLayoutCreate(&a_, cuda_type(in_), K_, N_, ldk_));   // B^T stored K x N, used transposed
    PB_CHECK(cublasLtMatrixLayoutCreate(&b_, cuda_type(in_), K_, M_, ldk_));   // A^T: K x M
    PB_CHECK(cublasLtMatrixLayoutCreate(&c_, cuda_type(out_), N_, M_, ldc_));  // C^T: N x M
    ws_ = DeviceArray<char>(size_t{32} << 20);
    cublasLtMatmulPreference_t pref = nullptr;
    PB_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const size_t ws_bytes = ws_.n;
    cublasLtMatmulHeuristicResult_t cand[8] = {};
    int found = 0;
    const cublasStatus_t st =
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof(ws_bytes));
    const cublasStatus_t hs = st == CUBLAS_STATUS_SUCCESS
                                  ? cublasLtMatmulAlgoGetHeuristic(lt_, op_, a_, b_, c_, c_, pref, 8, cand, &found)
                                  : st;
    cublasLtMatmulPreferenceDestroy(pref);
    PB_CHECK(hs);
    if (found == 0) throw std::runtime_error("cuBLASLt: no " + dtype_ + " algorithm for this shape");
    double best = 0;
    int chosen = -1;
    for (int i = 0; i < found; ++i) {
      if (cand[i].state != CUBLAS_STATUS_SUCCESS || cand[i].workspaceSize > ws_.n) continue;
      algo_ = cand[i].algo;
      const double ms = time_events(3, [&] { run(); }, static_cast<cudaStream_t>(stream_));
      if (chosen < 0 || ms < best) best = ms, chosen = i;
    }
    if (chosen < 0) throw std::runtime_error("cuBLASLt: no usable " + dtype_ + " algorithm for this shape");
    algo_ = cand[chosen].algo;
    candidates_ = found;
  }

  std::string dtype_, in_, out_;
  index_t M_, N_, K_, ldk_, ldc_;
  float sa_ = 1, sb_ = 1;
  DeviceArray<char> A_, Bt_, C_, ws_;
  DeviceArray<float> Cf_;
  cublasLtHandle_t lt_ = nullptr;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  int candidates_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_lt_gemm(const std::string& dtype, index_t M, index_t N, index_t K, const float* A, const float* B) {
  return std::make_unique<LtGemmOp>(dtype, M, N, K, A, B);
}

}  // namespace pb::gpu::detail
