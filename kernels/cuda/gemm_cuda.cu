// GEMM on the GPU: our naive and tiled kernels, and cuBLAS in FP32, TF32 and BF16.
#include <cuda_bf16.h>

#include <vector>

#include "cuda_check.h"
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

// 128 x 128 block tile, K in slices of 8 staged in shared memory, 256 threads each owning an 8 x 8 register
// tile: per k, 16 shared loads feed 64 FMAs. Edges are zero-filled on load and masked on store.
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;

__global__ void __launch_bounds__(256) sgemm_tiled(int M, int N, int K, const float* __restrict__ A,
                                                   const float* __restrict__ B, float* __restrict__ C) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
  float acc[TM][TN] = {};
  for (int k0 = 0; k0 < K; k0 += BK) {
    for (int e = threadIdx.x; e < BM * BK; e += 256) {
      const int r = e / BK, c = e % BK, gr = row0 + r, gc = k0 + c;
      As[c][r] = (gr < M && gc < K) ? A[static_cast<size_t>(gr) * K + gc] : 0.0f;
    }
    for (int e = threadIdx.x; e < BK * BN; e += 256) {
      const int r = e / BN, c = e % BN, gr = k0 + r, gc = col0 + c;
      Bs[r][c] = (gr < K && gc < N) ? B[static_cast<size_t>(gr) * N + gc] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) a[i] = As[kk][ty * TM + i];
#pragma unroll
      for (int j = 0; j < TN; ++j) b[j] = Bs[kk][tx * TN + j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int r = row0 + ty * TM + i;
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int c = col0 + tx * TN + j;
      if (c < N) C[static_cast<size_t>(r) * N + c] = acc[i][j];
    }
  }
}

__global__ void to_bf16(const float* in, __nv_bfloat16* out, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(in[i]);
}

class GemmOp : public Op {
 public:
  GemmOp(std::string v, index_t M, index_t N, index_t K, const float* A, const float* B)
      : v_(std::move(v)), M_(int(M)), N_(int(N)), K_(int(K)), A_(A, size_t(M * K)), B_(B, size_t(K * N)), C_(size_t(M * N)) {
    if (v_ != "naive" && v_ != "tiled" && v_ != "cublas_f32" && v_ != "cublas_tf32" && v_ != "cublas_bf16")
      throw std::runtime_error("unknown GPU gemm variant " + v_);
    cudaStream_t s;
    PB_CHECK(cudaStreamCreate(&s));
    stream_ = s;
    if (v_.rfind("cublas", 0) == 0) {
      PB_CHECK(cublasCreate(&h_));
      PB_CHECK(cublasSetStream(h_, s));
      PB_CHECK(cublasSetMathMode(h_, v_ == "cublas_f32" ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
    }
    if (v_ == "cublas_bf16") {  // inputs converted once, outside timing: the BF16 roof, not the conversion
      Ab_ = DeviceArray<__nv_bfloat16>(size_t(M * K));
      Bb_ = DeviceArray<__nv_bfloat16>(size_t(K * N));
      to_bf16<<<unsigned((M * K + 255) / 256), 256, 0, s>>>(A_.p, Ab_.p, size_t(M * K));
      to_bf16<<<unsigned((K * N + 255) / 256), 256, 0, s>>>(B_.p, Bb_.p, size_t(K * N));
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
    if (v_ == "naive") {
      dim3 t(16, 16), g((N_ + 15) / 16, (M_ + 15) / 16);
      sgemm_naive<<<g, t, 0, s>>>(M_, N_, K_, A_.p, B_.p, C_.p);
    } else if (v_ == "tiled") {
      dim3 g((N_ + BN - 1) / BN, (M_ + BM - 1) / BM);
      sgemm_tiled<<<g, 256, 0, s>>>(M_, N_, K_, A_.p, B_.p, C_.p);
    } else if (v_ == "cublas_f32") {
      PB_CHECK(cublasSgemm(h_, CUBLAS_OP_N, CUBLAS_OP_N, N_, M_, K_, &one, B_.p, N_, A_.p, K_, &zero, C_.p, N_));
    } else if (v_ == "cublas_tf32") {
      PB_CHECK(cublasGemmEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, N_, M_, K_, &one, B_.p, CUDA_R_32F, N_, A_.p, CUDA_R_32F, K_,
                            &zero, C_.p, CUDA_R_32F, N_, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    } else {
      PB_CHECK(cublasGemmEx(h_, CUBLAS_OP_N, CUBLAS_OP_N, N_, M_, K_, &one, Bb_.p, CUDA_R_16BF, N_, Ab_.p, CUDA_R_16BF,
                            K_, &zero, C_.p, CUDA_R_32F, N_, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
  }
  void download(float* host) override {
    PB_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
    PB_CHECK(cudaGetLastError());
    PB_CHECK(cudaMemcpy(host, C_.p, sizeof(float) * C_.n, cudaMemcpyDeviceToHost));
  }

 private:
  std::string v_;
  int M_, N_, K_;
  DeviceArray<float> A_, B_, C_;
  DeviceArray<__nv_bfloat16> Ab_, Bb_;
  cublasHandle_t h_ = nullptr;
};

}  // namespace

std::unique_ptr<Op> make_gemm(const std::string& variant, index_t M, index_t N, index_t K, const float* A, const float* B) {
  return std::make_unique<GemmOp>(variant, M, N, K, A, B);
}

}  // namespace pb::gpu
