// 2:4 structured sparsity on sparse tensor cores through cuSPARSELt (1:2 for TF32 inputs): the pruning that
// Ampere and Hopper were built for. The weights arrive pruned by our own N:M pruning (prune.h, magnitude along
// K); set-up rounds them to the row's precision, asks cuSPARSELt whether the pattern is one its kernels take
// (cusparseLtSpMMAPruneCheck: our pruning and the hardware's rule must agree, or the row fails), compresses
// them, and runs the library's algorithm search (cusparseLtMatmulSearch). All of it is outside timing and
// reported as setup_ms; run() is one cusparseLtMatmul.
//
// Layout: row-major throughout, both operands K-contiguous (W as M x K; B stored transposed, N x K, used
// transposed), the layout every cuSPARSELt precision takes. i8 inputs are quantised per matrix (lowp.cuh) and
// accumulate into INT32; e4m3 writes BF16.
#include <chrono>
#include <vector>

#include "cuda_check.h"
#include "lowp.cuh"
#include "ops.cuh"

#if PB_HAVE_CUSPARSELT
#include <cusparseLt.h>
#endif

namespace pb::gpu::detail {

#if PB_HAVE_CUSPARSELT

}  // namespace pb::gpu::detail

namespace pb::gpu {
std::string why_unavailable_cusparselt() { return why_unavailable(); }
}  // namespace pb::gpu

namespace pb::gpu::detail {

namespace {

cusparseComputeType lt_compute(const std::string& dtype) { return dtype == "i8" ? CUSPARSE_COMPUTE_32I : CUSPARSE_COMPUTE_32F; }

// The handle, descriptors and plan of one problem, destroyed in reverse order of creation.
class LtProblem {
 public:
  LtProblem(const std::string& dtype, index_t M, index_t N, index_t K) : in_(input_storage(dtype)), out_(output_storage(dtype)) {
    PB_CHECK(cusparseLtInit(&h_));
    live_ = 1;
    PB_CHECK(cusparseLtStructuredDescriptorInit(&h_, &a_, M, K, K, 16, cuda_type(in_), CUSPARSE_ORDER_ROW,
                                                CUSPARSELT_SPARSITY_50_PERCENT));
    live_ = 2;
    PB_CHECK(cusparseLtDenseDescriptorInit(&h_, &b_, N, K, K, 16, cuda_type(in_), CUSPARSE_ORDER_ROW));
    live_ = 3;
    PB_CHECK(cusparseLtDenseDescriptorInit(&h_, &c_, M, N, N, 16, cuda_type(out_), CUSPARSE_ORDER_ROW));
    live_ = 4;
    PB_CHECK(cusparseLtMatmulDescriptorInit(&h_, &mm_, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_TRANSPOSE,
                                            &a_, &b_, &c_, &c_, lt_compute(dtype)));
    PB_CHECK(cusparseLtMatmulAlgSelectionInit(&h_, &sel_, &mm_, CUSPARSELT_MATMUL_ALG_DEFAULT));
    live_ = 5;
    PB_CHECK(cusparseLtMatmulPlanInit(&h_, &plan_, &mm_, &sel_));
    live_ = 6;
  }
  LtProblem(const LtProblem&) = delete;
  LtProblem& operator=(const LtProblem&) = delete;
  ~LtProblem() {
    if (live_ >= 6) cusparseLtMatmulPlanDestroy(&plan_);
    if (live_ >= 5) cusparseLtMatmulAlgSelectionDestroy(&sel_);
    if (live_ >= 4) cusparseLtMatDescriptorDestroy(&c_);
    if (live_ >= 3) cusparseLtMatDescriptorDestroy(&b_);
    if (live_ >= 2) cusparseLtMatDescriptorDestroy(&a_);
    if (live_ >= 1) cusparseLtDestroy(&h_);
  }
  int attr(cusparseLtMatmulAlgAttribute_t a) const {
    int v = -1;
    return cusparseLtMatmulAlgGetAttribute(&h_, &sel_, a, &v, sizeof v) == CUSPARSE_STATUS_SUCCESS ? v : -1;
  }

  std::string in_, out_;
  cusparseLtHandle_t h_{};
  cusparseLtMatDescriptor_t a_{}, b_{}, c_{};
  cusparseLtMatmulDescriptor_t mm_{};
  cusparseLtMatmulAlgSelection_t sel_{};
  cusparseLtMatmulPlan_t plan_{};

 private:
  int live_ = 0;
};

// dense_from_csr (sparse.h) does this too, but lives in pb_kernels, which links before pb_cuda: an object of it
// that nothing else pulls in would leave this symbol unresolved (as precision() did), so the four lines stay here.
std::vector<float> dense_of(const Csr& W) {
  std::vector<float> w(static_cast<size_t>(W.rows * W.cols), 0.0f);
  for (index_t i = 0; i < W.rows; ++i)
    for (int p = W.rowptr[i]; p < W.rowptr[i + 1]; ++p) w[static_cast<size_t>(i * W.cols + W.colidx[p])] = W.values[p];
  return w;
}

class CusparseLtOp : public Op {
 public:
  CusparseLtOp(std::string dtype, const Csr& W, index_t N, const float* B)
      : dtype_(std::move(dtype)), M_(W.rows), N_(N), K_(W.cols) {
    cudaStream_t s;
    PB_CHECK(cudaStreamCreate(&s));
    stream_ = s;
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<float> w = dense_of(W);
    sa_ = quant_scale(dtype_, w.data(), w.size());
    sb_ = quant_scale(dtype_, B, size_t(K_ * N_));
    p_ = std::make_unique<LtProblem>(dtype_, M_, N_, K_);
    DeviceArray<char> A = upload_as(p_->in_, w.data(), M_, K_, K_, false, sa_);
    Bt_ = upload_as(p_->in_, B, K_, N_, K_, true, sb_);
    C_ = DeviceArray<char>(size_t(M_ * N_) * storage_bytes(p_->out_));
    Cf_ = DeviceArray<float>(size_t(M_ * N_));
    DeviceArray<int> valid(1);
    PB_CHECK(cusparseLtSpMMAPruneCheck(&p_->h_, &p_->mm_, A.p, valid.p, s));
    int ok = 1;
    PB_CHECK(cudaMemcpyAsync(&ok, valid.p, sizeof ok, cudaMemcpyDeviceToHost, s));
    PB_CHECK(cudaStreamSynchronize(s));
    if (ok != 0)
      throw std::runtime_error("cuSPARSELt: the weights are not in the " + std::string(dtype_ == "tf32" ? "1:2" : "2:4") +
                               " pattern its kernels take (cusparseLtSpMMAPruneCheck)");
    size_t bytes = 0, buffer = 0;
    PB_CHECK(cusparseLtSpMMACompressedSize(&p_->h_, &p_->plan_, &bytes, &buffer));
    Ac_ = DeviceArray<char>(bytes);
    DeviceArray<char> scratch(buffer);
    PB_CHECK(cusparseLtSpMMACompress(&p_->h_, &p_->plan_, A.p, Ac_.p, scratch.p, s));
    size_t ws = 0;
    PB_CHECK(cusparseLtMatmulGetWorkspace(&p_->h_, &p_->plan_, &ws));
    ws_ = DeviceArray<char>(ws);
    const float one = 1.0f, zero = 0.0f;
    PB_CHECK(cusparseLtMatmulSearch(&p_->h_, &p_->plan_, &one, Ac_.p, Bt_.p, &zero, C_.p, C_.p, ws_.p, &s, 1));
    PB_CHECK(cusparseLtMatmulGetWorkspace(&p_->h_, &p_->plan_, &ws));  // the chosen algorithm's own need
    if (ws > ws_.n) ws_ = DeviceArray<char>(ws);
    PB_CHECK(cudaStreamSynchronize(s));
    setup_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    compressed_bytes_ = double(bytes);
  }
  ~CusparseLtOp() override {
    p_.reset();
    if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  }
  void run() override {
    auto s = static_cast<cudaStream_t>(stream_);
    const float one = 1.0f, zero = 0.0f;
    PB_CHECK(cusparseLtMatmul(&p_->h_, &p_->plan_, &one, Ac_.p, Bt_.p, &zero, C_.p, C_.p, ws_.p, &s, 1));
  }
  void download(float* host) override {
    widen(p_->out_, C_.p, M_, N_, N_, 1.0f / (sa_ * sb_), Cf_.p, static_cast<cudaStream_t>(stream_));
    copy_back(stream_, Cf_, host);
  }
  double setup_ms() const override { return setup_ms_; }
  double weight_bytes() const override { return compressed_bytes_; }
  // "cuSPARSELt 2:4 bf16 alg:3 (ids 0..8) splitK:1 (cusparseLtMatmulSearch)"
  std::string chosen() const override {
    return "cuSPARSELt " + std::string(dtype_ == "tf32" ? "1:2 " : "2:4 ") + dtype_ + " alg:" +
           std::to_string(p_->attr(CUSPARSELT_MATMUL_ALG_CONFIG_ID)) + " (ids 0.." +
           std::to_string(p_->attr(CUSPARSELT_MATMUL_ALG_CONFIG_MAX_ID)) + ") splitK:" +
           std::to_string(p_->attr(CUSPARSELT_MATMUL_SPLIT_K)) + " (cusparseLtMatmulSearch)";
  }

 private:
  std::string dtype_;
  index_t M_, N_, K_;
  float sa_ = 1, sb_ = 1;
  std::unique_ptr<LtProblem> p_;
  DeviceArray<char> Ac_, Bt_, C_, ws_;
  DeviceArray<float> Cf_;
  double setup_ms_ = 0, compressed_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Op> make_cusparselt_spmm(const std::string& dtype, const Csr& W, index_t N, const float* B) {
  return std::make_unique<CusparseLtOp>(dtype, W, N, B);
}

std::vector<float> cusparselt_prune(const std::string& dtype, const float* W, index_t M, index_t K) {
  const index_t N = 16;  // the matmul descriptor pruning needs; B itself is never read
  LtProblem p(dtype, M, N, K);
  const float sa = quant_scale(dtype, W, size_t(M * K));
  DeviceArray<char> A = upload_as(p.in_, W, M, K, K, false, sa);
  PB_CHECK(cusparseLtSpMMAPrune(&p.h_, &p.mm_, A.p, A.p, CUSPARSELT_PRUNE_SPMMA_STRIP, nullptr));
  DeviceArray<float> wide(size_t(M * K));
  widen(p.in_, A.p, M, K, K, 1.0f / sa, wide.p, nullptr);
  std::vector<float> out(size_t(M * K));
  copy_back(nullptr, wide, out.data());
  return out;
}

int cusparselt_version() {
  cusparseLtHandle_t h;
  if (cusparseLtInit(&h) != CUSPARSE_STATUS_SUCCESS) return 0;
  int v = 0;
  cusparseLtGetVersion(&h, &v);
  cusparseLtDestroy(&h);
  return v;
}

#else  // built without cuSPARSELt: the rows are listed and skip with this reason

}  // namespace pb::gpu::detail

namespace pb::gpu {
std::string why_unavailable_cusparselt() {
  return "built without cuSPARSELt (cusparseLt.h / libcusparseLt not found at configure time: pip install "
         "nvidia-cusparselt-cu13, or PB_CUDA_EXTRA_ROOTS)";
}
}  // namespace pb::gpu

namespace pb::gpu::detail {
std::unique_ptr<Op> make_cusparselt_spmm(const std::string&, const Csr&, index_t, const float*) {
  throw std::runtime_error(why_unavailable_cusparselt());
}
std::vector<float> cusparselt_prune(const std::string&, const float*, index_t, index_t) {
  throw std::runtime_error(why_unavailable_cusparselt());
}
int cusparselt_version() { return 0; }

#endif

}  // namespace pb::gpu::detail

namespace pb::gpu {
std::vector<float> cusparselt_prune(const std::string& dtype, const float* W, index_t M, index_t K) {
  return detail::cusparselt_prune(dtype, W, M, K);
}
}  // namespace pb::gpu
