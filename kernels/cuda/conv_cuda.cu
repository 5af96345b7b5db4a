// Convolution on the GPU: our direct kernel (one thread per output, the correct baseline) and cuDNN's fastest
// forward algorithm for the shape.
#include "cuda_check.h"
#include "prunebench/gpu.h"

namespace pb::gpu {

using detail::DeviceArray;

namespace {

__global__ void conv_direct(ConvShape s, int OH, int OW, const float* __restrict__ x, const float* __restrict__ w,
                            float* __restrict__ y) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  const long long total = static_cast<long long>(s.N) * s.K * OH * OW;
  if (idx >= total) return;
  const int ow = idx % OW, oh = (idx / OW) % OH, k = (idx / (OW * OH)) % s.K, n = idx / (static_cast<long long>(OW) * OH * s.K);
  float acc = 0.0f;
  for (int c = 0; c < s.C; ++c)
    for (int r = 0; r < s.R; ++r) {
      const int ih = oh * s.stride + r - s.pad;
      if (ih < 0 || ih >= s.H) continue;
      for (int q = 0; q < s.S; ++q) {
        const int iw = ow * s.stride + q - s.pad;
        if (iw < 0 || iw >= s.W) continue;
        acc += w[((static_cast<long long>(k) * s.C + c) * s.R + r) * s.S + q] *
               x[((static_cast<long long>(n) * s.C + c) * s.H + ih) * s.W + iw];
      }
    }
  y[idx] = acc;
}

// What both convolutions hold: the shape, x and w uploaded, y, the op's stream.
class ConvOpBase : public Op {
 public:
  ConvOpBase(const ConvShape& s, const float* x, const float* w)
      : s_(s), x_(x, size_t(s.N * s.C * s.H * s.W)), w_(w, size_t(s.K * s.C * s.R * s.S)), y_(size_t(s.N * s.K * s.OH() * s.OW())) {
    cudaStream_t st;
    PB_CHECK(cudaStreamCreate(&st));
    stream_ = st;
  }
  ~ConvOpBase() override { cudaStreamDestroy(static_cast<cudaStream_t>(stream_)); }
  void download(float* host) override { detail::copy_back(stream_, y_, host); }

 protected:
  ConvShape s_;
  DeviceArray<float> x_, w_, y_;
};

// Ours: one thread per output. The correctness baseline and the floor of the ladder, not a contender.
class DirectConvOp : public ConvOpBase {
 public:
  using ConvOpBase::ConvOpBase;
  void run() override {
    const long long total = s_.N * s_.K * s_.OH() * s_.OW();
    if (total == 0) return;  // a grid of zero blocks is a launch error
    conv_direct<<<unsigned((total + 255) / 256), 256, 0, static_cast<cudaStream_t>(stream_)>>>(s_, int(s_.OH()), int(s_.OW()),
                                                                                           x_.p, w_.p, y_.p);
  }
};

#if PB_HAVE_CUDNN
// cuDNN's fastest FP32 forward algorithm for the shape, found once by measuring its candidates (what a
// framework's autotuner does). FMA math only: TF32 tensor cores would not be the FP32 convolution the CPU rows
// and our kernel compute (and would fail the FP32 oracle tolerance).
class CudnnConvOp : public ConvOpBase {
 public:
  CudnnConvOp(const ConvShape& s, const float* x, const float* w) : ConvOpBase(s, x, w) {
    PB_CHECK(cudnnCreate(&h_));
    PB_CHECK(cudnnSetStream(h_, static_cast<cudaStream_t>(stream_)));
    PB_CHECK(cudnnCreateTensorDescriptor(&xd_));
    PB_CHECK(cudnnCreateTensorDescriptor(&yd_));
    PB_CHECK(cudnnCreateFilterDescriptor(&wd_));
    PB_CHECK(cudnnCreateConvolutionDescriptor(&cd_));
    PB_CHECK(cudnnSetTensor4dDescriptor(xd_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.N), int(s.C), int(s.H), int(s.W)));
    PB_CHECK(cudnnSetFilter4dDescriptor(wd_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(s.K), int(s.C), int(s.R), int(s.S)));
    PB_CHECK(cudnnSetConvolution2dDescriptor(cd_, int(s.pad), int(s.pad), int(s.stride), int(s.stride), 1, 1,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    PB_CHECK(cudnnSetConvolutionMathType(cd_, CUDNN_FMA_MATH));
    PB_CHECK(cudnnSetTensor4dDescriptor(yd_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.N), int(s.K), int(s.OH()), int(s.OW())));
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int found = 0;
    PB_CHECK(cudnnFindConvolutionForwardAlgorithm(h_, xd_, wd_, cd_, yd_, 8, &found, perf));
    int best = -1;  // results come fastest first; failed candidates carry a non-success status
    for (int i = 0; i < found && best < 0; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) best = i;
    if (best < 0) throw std::runtime_error("cuDNN found no working forward algorithm for this shape");
    algo_ = perf[best].algo;
    candidates_ = found;
    size_t ws = 0;
    PB_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h_, xd_, wd_, cd_, yd_, algo_, &ws));
    work_ = DeviceArray<char>(ws);
  }
  std::string chosen() const override {
    static const char* const kNames[] = {"implicit_gemm", "implicit_precomp_gemm", "gemm", "direct", "fft",
                                         "fft_tiling", "winograd", "winograd_nonfused"};
    const int a = static_cast<int>(algo_);
    const std::string name = a >= 0 && a < 8 ? kNames[a] : "algo " + std::to_string(a);
    return "cudnn fwd " + name + ", FMA math, " + std::to_string(work_.n >> 10) + " KiB workspace (fastest of " +
           std::to_string(candidates_) + " found)";
  }
  ~CudnnConvOp() override {
    if (cd_) cudnnDestroyConvolutionDescriptor(cd_);
    if (wd_) cudnnDestroyFilterDescriptor(wd_);
    if (xd_) cudnnDestroyTensorDescriptor(xd_);
    if (yd_) cudnnDestroyTensorDescriptor(yd_);
    if (h_) cudnnDestroy(h_);
  }
  void run() override {
    const float one = 1.0f, zero = 0.0f;
    PB_CHECK(cudnnConvolutionForward(h_, &one, xd_, x_.p, wd_, w_.p, cd_, algo_, work_.p, work_.n, &zero, yd_, y_.p));
  }

 private:
  DeviceArray<char> work_;
  cudnnHandle_t h_ = nullptr;
  cudnnTensorDescriptor_t xd_ = nullptr, yd_ = nullptr;
  cudnnFilterDescriptor_t wd_ = nullptr;
  cudnnConvolutionDescriptor_t cd_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  int candidates_ = 0;
};
#endif

}  // namespace

std::unique_ptr<Op> make_conv(const std::string& variant, const ConvShape& s, const float* x, const float* w) {
  if (variant == "direct") return std::make_unique<DirectConvOp>(s, x, w);
  if (variant == "cudnn") {
#if PB_HAVE_CUDNN
    return std::make_unique<CudnnConvOp>(s, x, w);
#else
    throw std::runtime_error("built without cuDNN (libcudnn or cudnn.h not found at configure time)");
#endif
  }
  throw std::runtime_error("unknown GPU conv variant " + variant);
}

}  // namespace pb::gpu
