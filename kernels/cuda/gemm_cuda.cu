// GEMM on the GPU: our naive and tiled kernels, and cuBLAS in FP32, TF32 and BF16 through its classic API
// (cublasSgemm, cublasGemmEx with the library's first choice). cuBLASLt at every precision: gemm_lt.cu.
#include <cuda_bf16.h>

#include <vector>

#include "cuda_check.h"
#include "ops.cuh"
#include "prunebench/gpu.h"

namespace pb::gpu {

using detail::DeviceArray;

namespace {

__global__ void sgemm_naive(int M, int N, int K, const float* A, const float* B, float* C) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y * blockDim.y + threadIdx.y;
  if (i >= M || j >= N) return;
  float acc = 0.0f;
  for (int k = 0; k < K; ++k) acc += A[static_cast<size_t>(i) * K + k] * B[static_cast<size_t>(k) * N + j];
  C[static_cast<size_t>(i) * N + j] = acc;
}

// 128 x 128 block tile, K in slices of 8 staged in shared memory (two buffers: the next slice is fetched into
// registers while the current one is multiplied, one barrier per slice), 256 threads each owning an 8 x 8
// register tile: per k, four 16-byte shared loads feed 64 FMAs. A thread's tile is split in halves 64 apart,
// rows {4ty..4ty+3, 64+4ty..} and columns {4tx..4tx+3, 64+4tx..}, so a warp's 16-byte shared loads and its
// global stores are contiguous (no bank conflicts, full coalescing). A is stored transposed (As[k][m]) with
// rows padded by 4 floats, which keeps the transposing stores conflict-free and the rows 16-byte aligned.
// kVec: K and N are multiples of 4, so every staged quad of A and B is one aligned 16-byte load; otherwise the
// same quads are loaded element by element. Edges are zero-filled on load and masked on store.
constexpr int BM = 128, BN = 128, BK = 8, kGemmThreads = 256;

struct Stage {
  float a[4], b[4];
};

template <bool kVec>
__device__ __forceinline__ void gemm_load(Stage& st, int M, int N, int K, const float* __restrict__ A,
                                          const float* __restrict__ B, int row0, int col0, int k0) {
  const int t = threadIdx.x;
  const int ar = row0 + t / 2, ak = k0 + (t % 2) * 4;   // 4 consecutive k of one A row
  const int bk = k0 + t / 32, bc = col0 + (t % 32) * 4;  // 4 consecutive columns of one B row
  if (kVec) {
    const float4 va = (ar < M && ak < K) ? *reinterpret_cast<const float4*>(A + static_cast<size_t>(ar) * K + ak)
                                         : make_float4(0.f, 0.f, 0.f, 0.f);
    const float4 vb = (bk < K && bc < N) ? *reinterpret_cast<const float4*>(B + static_cast<size_t>(bk) * N + bc)
                                         : make_float4(0.f, 0.f, 0.f, 0.f);
    st.a[0] = va.x, st.a[1] = va.y, st.a[2] = va.z, st.a[3] = va.w;
    st.b[0] = vb.x, st.b[1] = vb.y, st.b[2] = vb.z, st.b[3] = vb.w;
  } else {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      st.a[i] = (ar < M && ak + i < K) ? A[static_cast<size_t>(ar) * K + ak + i] : 0.0f;
      st.b[i] = (bk < K && bc + i < N) ? B[static_cast<size_t>(bk) * N + bc + i] : 0.0f;
    }
  }
}

__device__ __forceinline__ void gemm_store(const Stage& st, float (*As)[BM + 4], float (*Bs)[BN]) {
  const int t = threadIdx.x;
#pragma unroll
  for (int i = 0; i < 4; ++i) As[(t % 2) * 4 + i][t / 2] = st.a[i];
  *reinterpret_cast<float4*>(&Bs[t / 32][(t % 32) * 4]) = make_float4(st.b[0], st.b[1], st.b[2], st.b[3]);
}

template <bool kVec>
__global__ void __launch_bounds__(kGemmThreads, 2) sgemm_tiled(int M, int N, int K, const float* __restrict__ A,
                                                               const float* __restrict__ B, float* __restrict__ C) {
  __shared__ __align__(16) float As[2][BK][BM + 4];
  __shared__ __align__(16) float Bs[2][BK][BN];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
  Stage st;
  gemm_load<kVec>(st, M, N, K, A, B, row0, col0, 0);
  gemm_store(st, As[0], Bs[0]);
  __syncthreads();
  int buf = 0;
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) gemm_load<kVec>(st, M, N, K, A, B, row0, col0, k0 + BK);  // in flight during the FMAs below
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][kk][64 + tx * 4]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    // The other buffer was last read before the previous barrier, so it can be overwritten now.
    if (more) gemm_store(st, As[buf ^ 1], Bs[buf ^ 1]);
    __syncthreads();
    buf ^= 1;
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = row0 + (i / 4) * 64 + ty * 4 + i % 4;
    if (r >= M) continue;
#pragma unroll
    for (int g = 0; g < 2; ++g) {
      const int c = col0 + g * 64 + tx * 4;
      float* dst = C + static_cast<size_t>(r) * N + c;
      if (kVec) {
        if (c < N) *reinterpret_cast<float4*>(dst) = make_float4(acc[i][g * 4], acc[i][g * 4 + 1], acc[i][g * 4 + 2], acc[i][g * 4 + 3]);
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (c + j < N) dst[j] = acc[i][g * 4 + j];
      }
    }
  }
}

__global__ void to_bf16(const float* in, __nv_bfloat16* out, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(in[i]);
}

__global__ void from_bf16(const __nv_bfloat16* in, float* out, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __bfloat162float(in[i]);
}

std::string checked_variant(std::string v) {
  if (v != "naive" && v != "tiled" && v != "cublas_f32" && v != "cublas_tf32" && v != "cublas_bf16")
    throw std::runtime_error("unknown GPU gemm variant " + v);
  return v;
}

class GemmOp : public Op {
 public:
  GemmOp(std::string v, index_t M, index_t N, index_t K, const float* A, const float* B)
      : v_(checked_variant(std::move(v))), M_(int(M)), N_(int(N)), K_(int(K)), A_(A, size_t(M * K)), B_(B, size_t(K * N)),
        C_(size_t(M * N)) {
    cudaStream_t s;
    PB_CHECK(cudaStreamCreate(&s));
    stream_ = s;
    if (v_.rfind("cublas_", 0) == 0) {
      PB_CHECK(cublasCreate(&h_));
      PB_CHECK(cublasSetStream(h_, s));
      PB_CHECK(cublasSetMathMode(h_, v_ == "cublas_f32" ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
    }
    if (v_ == "cublas_bf16") {  // inputs converted once, outside timing: the BF16 roof, not the conversion
      Ab_ = DeviceArray<__nv_bfloat16>(size_t(M * K));
      Bb_ = DeviceArray<__nv_bfloat16>(size_t(K * N));
      Cb_ = DeviceArray<__nv_bfloat16>(size_t(M * N));
      if (M * K) to_bf16<<<unsigned((M * K + 255) / 256), 256, 0, s>>>(A_.p, Ab_.p, size_t(M * K));
      if (K * N) to_bf16<<<unsigned((K * N + 255) / 256), 256, 0, s>>>(B_.p, Bb_.p, size_t(K * N));
      PB_CHECK(cudaGetLastError());
      PB_CHECK(cudaStreamSynchronize(s));
    }
  }
  ~GemmOp() override {
    if (h_) cublasDestroy(h_);
    if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  }
  void run() override {
    auto s = static_cast<cudaStream_t>(stream_);
    const float one = 1.0f, zero = 0.0f;
    // Row-major C = A B is column-major C^T = B^T A^T: swap the operands, no transposes.
    if (M_ == 0 || N_ == 0) return;  // nothing to compute (and a grid of zero blocks is a launch error)
    if (K_ == 0) {  // C = 0; said here rather than left to each library's convention for an empty reduction
      PB_CHECK(cudaMemsetAsync(C_.p, 0, sizeof(float) * C_.n, s));
      if (Cb_.n) PB_CHECK(cudaMemsetAsync(Cb_.p, 0, sizeof(__nv_bfloat16) * Cb_.n, s));
      return;
    }
    if (v_ == "naive") {
      dim3 t(16, 16), g((N_ + 15) / 16, (M_ + 15) / 16);
      sgemm_naive<<<g, t, 0, s>>>(M_, N_, K_, A_.p, B_.p, C_.p);
    } else if (v_ == "tiled") {
      dim3 g((N_ + BN - 1) / BN, (M_ + BM - 1) / BM);
      if (K_ % 4 == 0 && N_ % 4 == 0)
        sgemm_tiled<true><<<g, kGemmThreads, 0, s>>>(M_, N_, K_, A_.p, B_.p, C_.p);
      else
        sgemm_tiled<false><<<g, kGemmThreads, 0, s>>>(M_, N_, K_, A_.p, B_.p, C_.p);
    } else if (v_ == "cublas_f32") {
      PB_CHECK(cublasSgemm(h_, CUBLAS_OP_N, CUBLAS_OP_N, N_, M_, K_, &one, B_.p, N_, A_.p, K_, &zero, C_.p, N_));
    } else if (v_ == "cublas_tf32") {
      PB_CHECK(cublasGemmEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, N_, M_, K_, &one, B_.p, CUDA_R_32F, N_, A_.p, CUDA_R_32F, K_,
                            &zero, C_.p, CUDA_R_32F, N_, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    } else {  // BF16 in and out, FP32 accumulation: the usual tensor-core roof (what frameworks run)
      PB_CHECK(cublasGemmEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, N_, M_, K_, &one, Bb_.p, CUDA_R_16BF, N_, Ab_.p, CUDA_R_16BF,
                            K_, &zero, Cb_.p, CUDA_R_16BF, N_, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
  }
  std::string chosen() const override {
    // cuBLAS's classic API takes CUBLAS_GEMM_DEFAULT and does not say which kernel its heuristic picked.
    if (v_ == "cublas_f32") return "cublasSgemm pedantic FP32 math, CUBLAS_GEMM_DEFAULT";
    if (v_ == "cublas_tf32") return "cublasGemmEx CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT";
    if (v_ == "cublas_bf16") return "cublasGemmEx BF16 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT";
    return {};
  }
  void download(float* host) override {
    if (Cb_.n && M_ && N_)  // the BF16 result, widened for the oracle check
      from_bf16<<<unsigned((Cb_.n + 255) / 256), 256, 0, static_cast<cudaStream_t>(stream_)>>>(Cb_.p, C_.p, Cb_.n);
    detail::copy_back(stream_, C_, host);
  }

 private:
  std::string v_;
  int M_, N_, K_;
  DeviceArray<float> A_, B_, C_;
  DeviceArray<__nv_bfloat16> Ab_, Bb_, Cb_;
  cublasHandle_t h_ = nullptr;
};

}  // namespace

std::unique_ptr<Op> make_gemm(const std::string& variant, index_t M, index_t N, index_t K, const float* A, const float* B) {
  if (variant.rfind("cublaslt_", 0) == 0) return detail::make_lt_gemm(variant.substr(9), M, N, K, A, B);
  return std::make_unique<GemmOp>(variant, M, N, K, A, B);
}

}  // namespace pb::gpu
