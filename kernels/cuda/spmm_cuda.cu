// SpMM on the GPU: our CSR kernel, cuSPARSE CSR and cuSPARSE Blocked-ELL.
#include <algorithm>
#include <vector>

#include "cuda_check.h"
#include "prunebench/gpu.h"
#include "prunebench/spmm.h"

namespace pb::gpu {

using detail::DeviceArray;

namespace {

// One warp per row range of equal non-zero count (host-computed with balance_rows, so uneven real rows do not
// leave warps idle). For each row, the warp walks 128 columns at a time, each lane owning 4 consecutive
// columns (float4 loads of B when N is a multiple of 4); the row's non-zeros are read 32 at a time, one per
// lane, and broadcast with shuffles.
__global__ void csr_spmm(int N, const int* __restrict__ rowptr, const int* __restrict__ col, const float* __restrict__ val,
                         const long long* __restrict__ bounds, int warps, const float* __restrict__ B, float* __restrict__ C) {
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  if (warp >= warps) return;
  const bool vec = N % 4 == 0;
  for (long long i = bounds[warp]; i < bounds[warp + 1]; ++i) {
    const int p0 = rowptr[i], p1 = rowptr[i + 1];
    for (int j0 = 0; j0 < N; j0 += 128) {
      const int j = j0 + lane * 4;
      float4 acc = make_float4(0, 0, 0, 0);
      for (int pb = p0; pb < p1; pb += 32) {
        const int mine = pb + lane;
        const float v_l = mine < p1 ? val[mine] : 0.0f;
        const int c_l = mine < p1 ? col[mine] : 0;
        const int cnt = min(32, p1 - pb);
        for (int t = 0; t < cnt; ++t) {
          const float v = __shfl_sync(0xffffffffu, v_l, t);
          const int c = __shfl_sync(0xffffffffu, c_l, t);
          const float* b = B + static_cast<size_t>(c) * N + j;
          if (vec && j + 3 < N) {
            const float4 bb = *reinterpret_cast<const float4*>(b);
            acc.x += v * bb.x, acc.y += v * bb.y, acc.z += v * bb.z, acc.w += v * bb.w;
          } else {
            if (j < N) acc.x += v * b[0];
            if (j + 1 < N) acc.y += v * b[1];
            if (j + 2 < N) acc.z += v * b[2];
            if (j + 3 < N) acc.w += v * b[3];
          }
        }
      }
      float* c = C + static_cast<size_t>(i) * N + j;
      if (vec && j + 3 < N) {
        *reinterpret_cast<float4*>(c) = acc;
      } else {
        if (j < N) c[0] = acc.x;
        if (j + 1 < N) c[1] = acc.y;
        if (j + 2 < N) c[2] = acc.z;
        if (j + 3 < N) c[3] = acc.w;
      }
    }
  }
}

class SpmmOp : public Op {
 public:
  SpmmOp(std::string v, const Csr& W, index_t N, const float* B, int block)
      : v_(std::move(v)), M_(W.rows), K_(W.cols), N_(N), nnz_(W.nnz()), rowptr_(W.rowptr.data(), W.rowptr.size()),
        col_(W.colidx.data(), W.colidx.size()), val_(W.values.data(), W.values.size()), B_(B, size_t(W.cols * N)),
        C_(size_t(W.rows * N)) {
    cudaStream_t s;
    PB_CHECK(cudaStreamCreate(&s));
    stream_ = s;
    if (v_ == "csr") {
      cudaDeviceProp p{};
      PB_CHECK(cudaGetDeviceProperties(&p, 0));
      warps_ = static_cast<int>(std::min<index_t>(std::max<index_t>(1, M_), p.multiProcessorCount * 64));
      const auto b = pb::balance_rows(W.rowptr, warps_);
      std::vector<long long> bl(b.begin(), b.end());
      bounds_ = DeviceArray<long long>(bl.data(), bl.size());
      return;
    }
    PB_CHECK(cusparseCreate(&h_));
    PB_CHECK(cusparseSetStream(h_, s));
    PB_CHECK(cusparseCreateDnMat(&b_, K_, N_, N_, B_.p, CUDA_R_32F, CUSPARSE_ORDER_ROW));
    PB_CHECK(cusparseCreateDnMat(&c_, M_, N_, N_, C_.p, CUDA_R_32F, CUSPARSE_ORDER_ROW));
    if (v_ == "cusparse_csr") {
      PB_CHECK(cusparseCreateCsr(&a_, M_, K_, nnz_, rowptr_.p, col_.p, val_.p, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                 CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    } else if (v_ == "cusparse_bell") {
      make_blocked_ell(W, block);
    } else {
      throw std::runtime_error("unknown GPU spmm variant " + v_);
    }
    size_t ws = 0;
    const float one = 1.0f, zero = 0.0f;
    PB_CHECK(cusparseSpMM_bufferSize(h_, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a_, b_,
                                     &zero, c_, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &ws));
    work_ = DeviceArray<char>(ws);
  }
  ~SpmmOp() override {
    if (a_) cusparseDestroySpMat(a_);
    if (b_) cusparseDestroyDnMat(b_);
    if (c_) cusparseDestroyDnMat(c_);
    if (h_) cusparseDestroy(h_);
    if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  }
  void run() override {
    auto s = static_cast<cudaStream_t>(stream_);
    if (v_ == "csr") {
      const int threads = 256, blocks = (warps_ * 32 + threads - 1) / threads;
      csr_spmm<<<blocks, threads, 0, s>>>(int(N_), rowptr_.p, col_.p, val_.p, bounds_.p, warps_, B_.p, C_.p);
      return;
    }
    const float one = 1.0f, zero = 0.0f;
    PB_CHECK(cusparseSpMM(h_, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a_, b_, &zero, c_,
                          CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, work_.p));
  }
  void download(float* host) override {
    PB_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
    PB_CHECK(cudaGetLastError());
    PB_CHECK(cudaMemcpy(host, C_.p, sizeof(float) * C_.n, cudaMemcpyDeviceToHost));
  }

 private:
  // Blocked-ELL: every block row holds the same number of b x b blocks (padded with column index -1).
  void make_blocked_ell(const Csr& W, int b) {
    if (b < 1 || M_ % b || K_ % b) throw std::runtime_error("Blocked-ELL needs M and K multiples of the block size");
    const index_t bm = M_ / b;
    std::vector<std::vector<int>> blocks(static_cast<size_t>(bm));
    for (index_t i = 0; i < M_; ++i)
      for (int p = W.rowptr[i]; p < W.rowptr[i + 1]; ++p) {
        auto& v = blocks[i / b];
        const int bc = W.colidx[p] / b;
        if (std::find(v.begin(), v.end(), bc) == v.end()) v.push_back(bc);
      }
    size_t per = 1;
    for (auto& v : blocks) std::sort(v.begin(), v.end()), per = std::max(per, v.size());
    std::vector<int> ind(bm * per, -1);
    std::vector<float> vals(static_cast<size_t>(M_) * per * b, 0.0f);
    for (index_t I = 0; I < bm; ++I)
      for (size_t t = 0; t < blocks[I].size(); ++t) ind[I * per + t] = blocks[I][t];
    for (index_t i = 0; i < M_; ++i)
      for (int p = W.rowptr[i]; p < W.rowptr[i + 1]; ++p) {
        const auto& v = blocks[i / b];
        const size_t t = std::find(v.begin(), v.end(), W.colidx[p] / b) - v.begin();
        vals[static_cast<size_t>(i) * per * b + t * b + W.colidx[p] % b] = W.values[p];
      }
    ell_ind_ = DeviceArray<int>(ind.data(), ind.size());
    ell_val_ = DeviceArray<float>(vals.data(), vals.size());
    PB_CHECK(cusparseCreateBlockedEll(&a_, M_, K_, b, static_cast<int64_t>(per * b), ell_ind_.p, ell_val_.p,
                                      CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  }

  std::string v_;
  index_t M_, K_, N_, nnz_;
  DeviceArray<int> rowptr_, col_;
  DeviceArray<float> val_, B_, C_;
  DeviceArray<long long> bounds_;
  DeviceArray<int> ell_ind_;
  DeviceArray<float> ell_val_;
  DeviceArray<char> work_;
  int warps_ = 0;
  cusparseHandle_t h_ = nullptr;
  cusparseSpMatDescr_t a_ = nullptr;
  cusparseDnMatDescr_t b_ = nullptr, c_ = nullptr;
};

}  // namespace

std::unique_ptr<Op> make_spmm(const std::string& variant, const Csr& W, index_t N, const float* B, int block) {
  return std::make_unique<SpmmOp>(variant, W, N, B, block);
}

}  // namespace pb::gpu
