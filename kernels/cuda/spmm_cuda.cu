// SpMM on the GPU: our CSR kernel, cuSPARSE CSR and cuSPARSE Blocked-ELL.
#include <algorithm>
#include <cstring>
#include <vector>

#include <cuda_pipeline.h>

#include "cuda_check.h"
#include "lowp.cuh"
#include "ops.cuh"
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

// Tiled: a block owns 128 rows x 128 columns of C and walks its share of K in chunks of 64. Each chunk's
// 64 x 128 slice of B is staged in shared memory once and read there by every non-zero of the block's 128 rows
// that falls in the chunk, so B travels from L2 once per 128 rows instead of once per non-zero (the warp-per-row
// kernel above moves nnz x N x 4 bytes from L2, which bounds it below cuBLAS dense at 90% sparsity). 32 warps,
// four rows each; a lane owns 4 columns (one 16-byte shared load per non-zero: the warp reads 512 contiguous
// bytes, free of bank conflicts: 4 shared-memory cycles per non-zero, the kernel's floor).
// Per chunk and row, the warp reads the row's next 32 non-zeros (one per lane, all four rows' loads in flight
// together), writes those in the chunk to a per-warp list in shared memory and walks the list with broadcast
// reads: one 8-byte read per non-zero where two shuffles cost two cycles each. Column indices must ascend
// within a row (the op sorts a copy when they do not). B chunks are copied asynchronously (cp.async on sm_80+)
// into two shared buffers, the next one in flight while the current one is multiplied.
// Split K: when the C tiles alone would leave SMs idle, blockIdx.z splits K into ranges whose partial products
// are added into C atomically (C zeroed first; the summation order then varies run to run, within FP32
// rounding). kVec: N is a multiple of 4 (16-byte copies and stores).
// Measured on an H200 at 4096x256x4096, 90%: 122.8 us (cuBLAS FP32 dense 180.7); shared-memory (L1) throughput
// 70% of peak under ncu. Tried and dropped (same GPU, same day): two list entries per 16-byte read (123.8 us, and
// 4-6% slower at 95-98%), two 64-row blocks of 16 warps per SM instead of one 128-row block (3-5% faster at
// 50-70%, 7-11% slower at 95-98%, equal at 90%).
constexpr int kTR = 128, kTC = 128, kKC = 64, kTileWarps = 32, kRowsPerWarp = kTR / kTileWarps;
constexpr int kStageQuads = kKC * kTC / 4 / (kTileWarps * 32);  // float4s of B each thread copies per chunk
constexpr size_t kTiledSmem = 2 * kKC * kTC * sizeof(float);   // two B chunks: 64 KiB (above the 48 KiB default)

template <bool kVec>
__device__ __forceinline__ void spmm_stage(float* Bs, int N, int K, const float* __restrict__ B, int col0, int kc) {
#pragma unroll
  for (int u = 0; u < kStageQuads; ++u) {
    const int e = threadIdx.x + u * kTileWarps * 32, rr = e / (kTC / 4), cc = (e % (kTC / 4)) * 4;
    const int r = kc + rr, c = col0 + cc;
    float* dst = Bs + rr * kTC + cc;
    if (kVec) {  // rows past K and columns past N are zero-filled (never read for the output, but never garbage)
      const bool in = r < K && c < N;
      __pipeline_memcpy_async(dst, in ? B + static_cast<size_t>(r) * N + c : B, 16, in ? 0 : 16);
    } else {
      const bool in = r < K;
      for (int t = 0; t < 4; ++t) dst[t] = in && c + t < N ? B[static_cast<size_t>(r) * N + c + t] : 0.0f;
    }
  }
  __pipeline_commit();
}

template <bool kVec>
__global__ void __launch_bounds__(kTileWarps * 32) csr_spmm_tiled(int M, int N, int K, const int* __restrict__ rowptr,
                                                                  const int* __restrict__ col,
                                                                  const float* __restrict__ val,
                                                                  const float* __restrict__ B, float* __restrict__ C,
                                                                  int chunks_per_split) {
  extern __shared__ __align__(16) float Bs[];  // [2][kKC][kTC]
  __shared__ int2 list[kTileWarps][32];        // per warp: (column within the chunk, value bits)
  const int kbeg = blockIdx.z * chunks_per_split * kKC, kfin = min(K, kbeg + chunks_per_split * kKC);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int row0 = blockIdx.y * kTR + warp * kRowsPerWarp, col0 = blockIdx.x * kTC;
  int p[kRowsPerWarp], pe[kRowsPerWarp];  // per row: next non-zero, end (the same in every lane)
  float4 acc[kRowsPerWarp];
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int r = row0 + i;
    int lo = r < M ? rowptr[r] : 0, hi = r < M ? rowptr[r + 1] : 0;
    pe[i] = hi;
    while (kbeg > 0 && lo < hi) {  // first non-zero at or after kbeg (the row's columns ascend)
      const int mid = (lo + hi) / 2;
      if (col[mid] < kbeg) lo = mid + 1; else hi = mid;
    }
    p[i] = lo;
    acc[i] = make_float4(0.f, 0.f, 0.f, 0.f);
  }
  if (kbeg < kfin) spmm_stage<kVec>(Bs, N, K, B, col0, kbeg);
  for (int kc = kbeg, buf = 0; kc < kfin; kc += kKC, buf ^= 1) {
    if (kc + kKC < kfin) spmm_stage<kVec>(Bs + (buf ^ 1) * kKC * kTC, N, K, B, col0, kc + kKC);
    else __pipeline_commit();  // an empty group keeps the wait below uniform
    __pipeline_wait_prior(1);  // this chunk's copies (all but the newest group) have landed
    __syncthreads();
    const float* Bc = Bs + buf * kKC * kTC;
    const int kend = kc + kKC;
    int c_l[kRowsPerWarp];
    float v_l[kRowsPerWarp];
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {  // the four rows' windows, loaded together
      const int q = p[i] + lane;
      c_l[i] = q < pe[i] ? col[q] : 0x7fffffff;
      v_l[i] = q < pe[i] ? val[q] : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      while (true) {  // a row with more than 32 non-zeros in the chunk takes further windows
        const int cnt = __popc(__ballot_sync(0xffffffffu, c_l[i] < kend));
        if (cnt == 0) break;
        list[warp][lane] = make_int2(c_l[i] - kc, __float_as_int(v_l[i]));
        __syncwarp();
#pragma unroll 2
        for (int t = 0; t < cnt; ++t) {
          const int2 e = list[warp][t];
          const float v = __int_as_float(e.y);
          const float4 b = *reinterpret_cast<const float4*>(Bc + e.x * kTC + lane * 4);
          acc[i].x = fmaf(v, b.x, acc[i].x);
          acc[i].y = fmaf(v, b.y, acc[i].y);
          acc[i].z = fmaf(v, b.z, acc[i].z);
          acc[i].w = fmaf(v, b.w, acc[i].w);
        }
        __syncwarp();  // the list is read by every lane before it is overwritten
        p[i] += cnt;
        if (cnt < 32) break;  // the row's next non-zero lies in a later chunk
        const int q = p[i] + lane;
        c_l[i] = q < pe[i] ? col[q] : 0x7fffffff;
        v_l[i] = q < pe[i] ? val[q] : 0.0f;
      }
    }
    __syncthreads();  // every warp is done with this buffer before the next iteration's copy overwrites it
  }
  const int c = col0 + lane * 4;
  const bool split = gridDim.z > 1;
#pragma unroll
  for (int i = 0; i < kRowsPerWarp; ++i) {
    const int r = row0 + i;
    if (r >= M) continue;
    float* dst = C + static_cast<size_t>(r) * N + c;
    if (split) {
      if (c < N) atomicAdd(dst, acc[i].x);
      if (c + 1 < N) atomicAdd(dst + 1, acc[i].y);
      if (c + 2 < N) atomicAdd(dst + 2, acc[i].z);
      if (c + 3 < N) atomicAdd(dst + 3, acc[i].w);
    } else if (kVec) {
      if (c < N) *reinterpret_cast<float4*>(dst) = acc[i];
    } else {
      if (c < N) dst[0] = acc[i].x;
      if (c + 1 < N) dst[1] = acc[i].y;
      if (c + 2 < N) dst[2] = acc[i].z;
      if (c + 3 < N) dst[3] = acc[i].w;
    }
  }
}

bool columns_ascend(const Csr& W) {
  for (index_t i = 0; i < W.rows; ++i)
    for (int p = W.rowptr[i] + 1; p < W.rowptr[i + 1]; ++p)
      if (W.colidx[p - 1] >= W.colidx[p]) return false;
  return true;
}

Csr sorted_columns(const Csr& W) {
  Csr s = W;
  std::vector<std::pair<int, float>> row;
  for (index_t i = 0; i < W.rows; ++i) {
    row.clear();
    for (int p = W.rowptr[i]; p < W.rowptr[i + 1]; ++p) row.push_back({W.colidx[p], W.values[p]});
    std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t t = 0; t < row.size(); ++t) s.colidx[W.rowptr[i] + t] = row[t].first, s.values[W.rowptr[i] + t] = row[t].second;
  }
  return s;
}

class SpmmOp : public Op {
 public:
  // "cusparse_bell_f16" / "_bf16": Blocked-ELL with 16-bit values, B and C (storage_), FP32 accumulation.
  SpmmOp(std::string v, const Csr& W, index_t N, const float* B, int block)
      : v_(bell_base(v)), storage_(v_ == v ? "" : v.substr(v_.size() + 1)), M_(W.rows), K_(W.cols), N_(N), nnz_(W.nnz()), rowptr_(W.rowptr.data(), W.rowptr.size()),
        col_(W.colidx.data(), W.colidx.size()), val_(W.values.data(), W.values.size()), B_(B, size_t(W.cols * N)),
        C_(size_t(W.rows * N)) {
    cudaStream_t s;
    PB_CHECK(cudaStreamCreate(&s));
    stream_ = s;
    if (v_ == "csr_tiled") {
      // Split K only where the tiles alone leave SMs idle, and only as far as one wave of resident blocks: a
      // second, partly filled wave costs a whole block's time (on an H200 at 4096x256x4096, splitting 64 tiles
      // five ways made 2.4 waves); never below two chunks per split.
      PB_CHECK(cudaFuncSetAttribute(csr_spmm_tiled<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kTiledSmem)));
      PB_CHECK(cudaFuncSetAttribute(csr_spmm_tiled<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(kTiledSmem)));
      cudaDeviceProp p{};
      PB_CHECK(cudaGetDeviceProperties(&p, 0));
      int per_sm = 0;
      PB_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, csr_spmm_tiled<true>, kTileWarps * 32, kTiledSmem));
      const index_t slots = index_t(std::max(1, per_sm)) * p.multiProcessorCount;
      const index_t tiles = ((N_ + kTC - 1) / kTC) * ((M_ + kTR - 1) / kTR), chunks = std::max<index_t>(1, (K_ + kKC - 1) / kKC);
      const index_t want = std::max<index_t>(1, slots / std::max<index_t>(1, tiles));
      chunks_per_split_ = int(std::max<index_t>(2, (chunks + want - 1) / want));
      splits_ = int((chunks + chunks_per_split_ - 1) / chunks_per_split_);
      if (!columns_ascend(W)) {  // the chunk cursor needs ascending columns within a row
        Csr sorted = sorted_columns(W);
        col_ = DeviceArray<int>(sorted.colidx.data(), sorted.colidx.size());
        val_ = DeviceArray<float>(sorted.values.data(), sorted.values.size());
      }
      return;
    }
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
    const cudaDataType data = storage_.empty() ? CUDA_R_32F : detail::cuda_type(storage_);
    void* b = B_.p;
    void* c = C_.p;
    if (!storage_.empty()) {  // B and C in 16 bits: B rounded once here, C widened in download()
      Bl_ = detail::upload_as(storage_, B, K_, N_, N_, false, 1.0f);
      Cl_ = DeviceArray<char>(size_t(M_ * N_) * detail::storage_bytes(storage_));
      b = Bl_.p, c = Cl_.p;
    }
    PB_CHECK(cusparseCreateDnMat(&b_, K_, N_, N_, b, data, CUSPARSE_ORDER_ROW));
    PB_CHECK(cusparseCreateDnMat(&c_, M_, N_, N_, c, data, CUSPARSE_ORDER_ROW));
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
    if (M_ == 0 || N_ == 0) return;  // nothing to compute (and a grid of zero blocks is a launch error)
    if (v_ == "csr_tiled") {
      const dim3 g(unsigned((N_ + kTC - 1) / kTC), unsigned((M_ + kTR - 1) / kTR), unsigned(splits_));
      if (splits_ > 1 || K_ == 0) PB_CHECK(cudaMemsetAsync(C_.p, 0, sizeof(float) * C_.n, s));
      if (N_ % 4 == 0)
        csr_spmm_tiled<true><<<g, kTileWarps * 32, kTiledSmem, s>>>(int(M_), int(N_), int(K_), rowptr_.p, col_.p, val_.p, B_.p, C_.p,
                                                                    chunks_per_split_);
      else
        csr_spmm_tiled<false><<<g, kTileWarps * 32, kTiledSmem, s>>>(int(M_), int(N_), int(K_), rowptr_.p, col_.p, val_.p, B_.p,
                                                                     C_.p, chunks_per_split_);
      return;
    }
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
    if (!storage_.empty()) detail::widen(storage_, Cl_.p, M_, N_, N_, 1.0f, C_.p, static_cast<cudaStream_t>(stream_));
    detail::copy_back(stream_, C_, host);
  }
  // cuSPARSE's generic SpMM with its default algorithm (it does not report the kernel behind it).
  std::string chosen() const override {
    if (v_ == "cusparse_csr") return "cusparseSpMM CSR FP32, CUSPARSE_SPMM_ALG_DEFAULT";
    if (v_ == "cusparse_bell")
      return "cusparseSpMM Blocked-ELL " + (storage_.empty() ? std::string("FP32") : storage_ + ", FP32 accumulate") +
             ", CUSPARSE_SPMM_ALG_DEFAULT";
    return {};
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
    void* values = nullptr;
    if (storage_.empty()) {
      ell_val_ = DeviceArray<float>(vals.data(), vals.size());
      values = ell_val_.p;
    } else {
      ell_low_ = detail::upload_as(storage_, vals.data(), M_, index_t(per) * b, index_t(per) * b, false, 1.0f);
      values = ell_low_.p;
    }
    PB_CHECK(cusparseCreateBlockedEll(&a_, M_, K_, b, static_cast<int64_t>(per * b), ell_ind_.p, values,
                                      CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO,
                                      storage_.empty() ? CUDA_R_32F : detail::cuda_type(storage_)));
  }

  static std::string bell_base(const std::string& v) {
    for (const char* t : {"_f16", "_bf16"})
      if (v.size() > std::strlen(t) && v.compare(v.size() - std::strlen(t), std::string::npos, t) == 0 &&
          v.rfind("cusparse_bell", 0) == 0)
        return v.substr(0, v.size() - std::strlen(t));
    return v;
  }

  std::string v_, storage_;
  index_t M_, K_, N_, nnz_;
  DeviceArray<int> rowptr_, col_;
  DeviceArray<float> val_, B_, C_;
  DeviceArray<long long> bounds_;
  DeviceArray<int> ell_ind_;
  DeviceArray<float> ell_val_;
  DeviceArray<char> work_, Bl_, Cl_, ell_low_;
  int warps_ = 0;
  int splits_ = 1, chunks_per_split_ = 1;  // csr_tiled: K ranges (blockIdx.z) and 64-deep chunks in each
  cusparseHandle_t h_ = nullptr;
  cusparseSpMatDescr_t a_ = nullptr;
  cusparseDnMatDescr_t b_ = nullptr, c_ = nullptr;
};

}  // namespace

std::unique_ptr<Op> make_spmm(const std::string& variant, const Csr& W, index_t N, const float* B, int block) {
  if (variant.rfind("cusparselt_", 0) == 0) return detail::make_cusparselt_spmm(variant.substr(11), W, N, B);
  return std::make_unique<SpmmOp>(variant, W, N, B, block);
}

}  // namespace pb::gpu
