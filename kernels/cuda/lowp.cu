#include "lowp.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <type_traits>


namespace pb::gpu::detail {

std::string input_storage(const std::string& dtype) {
  if (dtype == "tf32") return "f32";
  storage_bytes(dtype);  // throws on a name that is no storage
  return dtype;
}

std::string output_storage(const std::string& dtype) {
  if (dtype == "i8") return "i32";
  if (dtype == "e4m3") return "bf16";
  return input_storage(dtype);
}

cudaDataType cuda_type(const std::string& s) {
  if (s == "f32") return CUDA_R_32F;
  if (s == "f16") return CUDA_R_16F;
  if (s == "bf16") return CUDA_R_16BF;
  if (s == "i8") return CUDA_R_8I;
  if (s == "i32") return CUDA_R_32I;
  if (s == "e4m3") return CUDA_R_8F_E4M3;
  throw std::invalid_argument("no CUDA data type for storage '" + s + "'");
}

size_t storage_bytes(const std::string& s) {
  if (s == "f32" || s == "i32") return 4;
  if (s == "f16" || s == "bf16") return 2;
  if (s == "i8" || s == "e4m3") return 1;
  throw std::invalid_argument("no storage '" + s + "'");
}

float quant_scale(const std::string& dtype, const float* host, size_t n) {
  if (dtype != "i8") return 1.0f;
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(host[i]));
  return m > 0 ? 127.0f / m : 1.0f;
}

namespace {

template <class T>
__device__ T narrow(float x);
template <>
__device__ float narrow<float>(float x) { return x; }
template <>
__device__ __half narrow<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ __nv_bfloat16 narrow<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ std::int8_t narrow<std::int8_t>(float x) { return static_cast<std::int8_t>(fmaxf(-127.f, fminf(127.f, rintf(x)))); }
template <>
__device__ __nv_fp8_e4m3 narrow<__nv_fp8_e4m3>(float x) { return __nv_fp8_e4m3(x); }  // round to nearest, saturating

template <class T>
__global__ void narrow_kernel(const float* in, index_t rows, index_t cols, index_t ld, bool transpose, float scale, T* out) {
  const index_t n = rows * cols;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < n; i += index_t(gridDim.x) * blockDim.x) {
    const index_t r = i / cols, c = i % cols;
    out[transpose ? c * ld + r : r * ld + c] = narrow<T>(in[i] * scale);
  }
}

template <class T>
__device__ float wide(T x) { return static_cast<float>(x); }
template <>
__device__ float wide<__half>(__half x) { return __half2float(x); }
template <>
__device__ float wide<__nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T>
__global__ void widen_kernel(const T* in, index_t rows, index_t cols, index_t ld, float scale, float* out) {
  const index_t n = rows * cols;
  for (index_t i = blockIdx.x * index_t(blockDim.x) + threadIdx.x; i < n; i += index_t(gridDim.x) * blockDim.x)
    out[i] = wide<T>(in[(i / cols) * ld + i % cols]) * scale;
}

unsigned grid_for(index_t n) { return unsigned(std::clamp<index_t>((n + 255) / 256, 1, 65535)); }

template <class F>
void by_storage(const std::string& s, F&& f) {
  if (s == "f32") f(float{});
  else if (s == "f16") f(__half{});
  else if (s == "bf16") f(__nv_bfloat16{});
  else if (s == "i8") f(std::int8_t{});
  else if (s == "e4m3") f(__nv_fp8_e4m3{});
  else if (s == "i32") f(std::int32_t{});
  else throw std::invalid_argument("no storage '" + s + "'");
}

}  // namespace

DeviceArray<char> upload_as(const std::string& storage, const float* host, index_t rows, index_t cols, index_t ld,
                            bool transpose, float scale) {
  const index_t outer = transpose ? cols : rows;
  DeviceArray<char> out(size_t(outer * ld) * storage_bytes(storage));
  PB_CHECK(cudaMemset(out.p, 0, out.n ? out.n : 1));
  if (rows * cols == 0) return out;
  DeviceArray<float> staged(host, size_t(rows * cols));
  by_storage(storage, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, std::int32_t>) {
      throw std::invalid_argument("i32 is an output storage only");
    } else {
      narrow_kernel<T><<<grid_for(rows * cols), 256>>>(staged.p, rows, cols, ld, transpose, scale, reinterpret_cast<T*>(out.p));
    }
  });
  PB_CHECK(cudaGetLastError());
  PB_CHECK(cudaDeviceSynchronize());
  return out;
}

void widen(const std::string& storage, const void* in, index_t rows, index_t cols, index_t ld, float scale, float* out,
           cudaStream_t stream) {
  if (rows * cols == 0) return;
  by_storage(storage, [&](auto tag) {
    using T = decltype(tag);
    widen_kernel<T><<<grid_for(rows * cols), 256, 0, stream>>>(static_cast<const T*>(in), rows, cols, ld, scale, out);
  });
  PB_CHECK(cudaGetLastError());
}

}  // namespace pb::gpu::detail
