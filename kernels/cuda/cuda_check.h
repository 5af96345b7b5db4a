// Every CUDA, cuBLAS, cuSPARSE and cuDNN call is checked; a failure throws with the call and the library's own
// message, which the benchmark turns into SkipWithError and the tests into a failure.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>
#if PB_HAVE_CUDNN
#include <cudnn.h>
#endif

#include <stdexcept>
#include <string>

#define PB_CHECK(call) ::pb::gpu::detail::check((call), #call)

namespace pb::gpu::detail {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
inline void check(cublasStatus_t e, const char* what) {
  if (e != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(int(e)));
}
inline void check(cusparseStatus_t e, const char* what) {
  if (e != CUSPARSE_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cusparseGetErrorString(e));
}
#if PB_HAVE_CUDNN
inline void check(cudnnStatus_t e, const char* what) {
  if (e != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(e));
}
#endif

// Device memory owned by an op; freed with it.
template <class T>
struct DeviceArray {
  T* p = nullptr;
  size_t n = 0;
  DeviceArray() = default;
  explicit DeviceArray(size_t count) : n(count) { check(cudaMalloc(&p, sizeof(T) * (count ? count : 1)), "cudaMalloc"); }
  DeviceArray(const T* host, size_t count) : DeviceArray(count) {
    if (count) check(cudaMemcpy(p, host, sizeof(T) * count, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  }
  DeviceArray(DeviceArray&& o) noexcept : p(o.p), n(o.n) { o.p = nullptr; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    std::swap(p, o.p);
    std::swap(n, o.n);
    return *this;
  }
  ~DeviceArray() { if (p) cudaFree(p); }
};

// The end of every op's download(): wait for the op's stream, surface a failed launch, copy the output back.
inline void copy_back(void* stream, const DeviceArray<float>& out, float* host) {
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
  check(cudaGetLastError(), "kernel launch");
  if (out.n) check(cudaMemcpy(host, out.p, sizeof(float) * out.n, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}

// ms per call of f, over `reps` back-to-back calls on `stream` after one warm-up (first-use costs such as
// library heuristics and page mapping stay out of the timing).
template <class F>
inline double time_events(int reps, F&& f, cudaStream_t stream = nullptr) {
  cudaEvent_t a, b;
  PB_CHECK(cudaEventCreate(&a));
  PB_CHECK(cudaEventCreate(&b));
  f();
  PB_CHECK(cudaEventRecord(a, stream));
  for (int i = 0; i < reps; ++i) f();
  PB_CHECK(cudaEventRecord(b, stream));
  PB_CHECK(cudaEventSynchronize(b));
  PB_CHECK(cudaGetLastError());
  float ms = 0;
  PB_CHECK(cudaEventElapsedTime(&ms, a, b));
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / reps;
}

}  // namespace pb::gpu::detail

