// Device discovery, the Op timing helper, and the ceilings: copy bandwidth, launch latency, FMA peak and
// latency, pointer-chase latency.
#include <cuda_bf16.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <vector>

#include "cuda_check.h"
#include "ops.cuh"
#include "prunebench/gpu.h"

namespace pb::gpu {

using detail::DeviceArray;

std::string why_unavailable() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return std::string("no CUDA device visible: ") + cudaGetErrorString(e);
  if (n == 0) return "no CUDA device visible";
  return {};
}

namespace {
DeviceInfo read_device_info() {
  DeviceInfo d;
  if (!why_unavailable().empty()) return d;
  cudaDeviceProp p{};
  PB_CHECK(cudaGetDeviceProperties(&p, 0));
  d.name = p.name;
  d.sm_count = p.multiProcessorCount;
  d.mem_bytes = static_cast<long long>(p.totalGlobalMem);
  d.l2_bytes = p.l2CacheSize;
  d.cc_major = p.major, d.cc_minor = p.minor;
  char bus[32] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, 0) == cudaSuccess) d.pci_bus_id = bus;
  d.cusparselt = detail::cusparselt_version();
  int clock_khz = 0;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0);
  d.clock_mhz = clock_khz / 1000;
  cudaRuntimeGetVersion(&d.runtime);
  cudaDriverGetVersion(&d.driver);
  cublasHandle_t h;
  if (cublasCreate(&h) == CUBLAS_STATUS_SUCCESS) {
    cublasGetVersion(h, &d.cublas);
    cublasDestroy(h);
  }
#if PB_HAVE_CUDNN
  d.cudnn = static_cast<int>(cudnnGetVersion());
#endif
  return d;
}
}  // namespace

// Read once: the registry asks (FP8's compute capability) for every row, and cuSPARSELt's version costs an init.
DeviceInfo device_info() {
  static const DeviceInfo d = read_device_info();
  return d;
}

std::string why_unavailable_fp8() {
  if (std::string why = why_unavailable(); !why.empty()) return why;
  const DeviceInfo d = device_info();
  if (d.cc_major * 10 + d.cc_minor < 89)
    return "FP8 tensor cores need compute capability 8.9 or later (this GPU: " + std::to_string(d.cc_major) + "." +
           std::to_string(d.cc_minor) + ")";
  return {};
}

namespace {

using detail::time_events;

__global__ void empty_kernel() {}

// 8 independent FMA chains per thread, enough with thousands of threads per SM to cover latency; the result is
// stored only if impossible, so the chains are live but the store never happens.
__global__ void fma_chains(int steps, float b, float c, float* sink) {
  float a0 = threadIdx.x, a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7;
  for (int i = 0; i < steps; ++i) {
    a0 = fmaf(a0, b, c); a1 = fmaf(a1, b, c); a2 = fmaf(a2, b, c); a3 = fmaf(a3, b, c);
    a4 = fmaf(a4, b, c); a5 = fmaf(a5, b, c); a6 = fmaf(a6, b, c); a7 = fmaf(a7, b, c);
  }
  const float s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  if (s == -1.2345f) sink[0] = s;
}

__global__ void fma_dependent(int steps, float b, float c, float* out) {
  float a = threadIdx.x;
  for (int i = 0; i < steps; ++i) a = fmaf(a, b, c);
  out[0] = a;
}

__global__ void chase_kernel(const unsigned* next, long long steps, unsigned* out) {
  unsigned p = 0;
  for (long long i = 0; i < steps; ++i) p = next[p];
  out[0] = p;
}

}  // namespace

double Op::time_ms(int reps, bool cold_l2) {
  auto s = static_cast<cudaStream_t>(stream_);
  if (!cold_l2) return time_events(reps, [this] { run(); }, s);
  // Cold: as nvbench does, write a buffer twice the L2 size before each run (the write evicts whatever the last
  // run left in L2) and time the run alone, the flush outside the events. One buffer for the process.
  static DeviceArray<char> flush(size_t(std::max<long long>(2 * device_info().l2_bytes, 1 << 20)));
  cudaEvent_t a, b;
  PB_CHECK(cudaEventCreate(&a));
  PB_CHECK(cudaEventCreate(&b));
  run();  // warm-up: first-use costs stay out, as in time_events
  double total = 0;
  for (int i = 0; i < reps; ++i) {
    PB_CHECK(cudaMemsetAsync(flush.p, i & 0xff, flush.n, s));
    PB_CHECK(cudaEventRecord(a, s));
    run();
    PB_CHECK(cudaEventRecord(b, s));
    PB_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    PB_CHECK(cudaEventElapsedTime(&ms, a, b));
    total += ms;
  }
  PB_CHECK(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return total / std::max(1, reps);
}

double copy_bandwidth(index_t bytes, const std::string& kind, int reps) {
  const size_t n = static_cast<size_t>(bytes);
  DeviceArray<char> a(n), b(n);
  if (kind == "d2d") {
    const double ms = time_events(reps, [&] { PB_CHECK(cudaMemcpyAsync(b.p, a.p, n, cudaMemcpyDeviceToDevice)); });
    return 2.0 * n / (ms * 1e-3);  // read + write
  }
  const bool pinned = kind.find("pinned") != std::string::npos;
  char* host = nullptr;
  std::vector<char> pageable;
  if (pinned) {
    PB_CHECK(cudaMallocHost(&host, n));
  } else {
    pageable.assign(n, 1);
    host = pageable.data();
  }
  const bool h2d = kind.rfind("h2d", 0) == 0;
  const double ms = time_events(reps, [&] {
    PB_CHECK(cudaMemcpyAsync(h2d ? static_cast<void*>(a.p) : host, h2d ? static_cast<void*>(host) : a.p, n,
                             h2d ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost));
  });
  if (pinned) cudaFreeHost(host);
  return n / (ms * 1e-3);
}

double launch_latency_us(bool graph, int launches) {
  cudaStream_t s;
  PB_CHECK(cudaStreamCreate(&s));
  double us;
  if (!graph) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < launches; ++i) empty_kernel<<<1, 1, 0, s>>>();
    PB_CHECK(cudaStreamSynchronize(s));
    us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / launches;
  } else {
    // One graph of `launches` empty kernels, captured once and replayed: the per-kernel cost of graph replay.
    cudaGraph_t g;
    cudaGraphExec_t ge;
    PB_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    for (int i = 0; i < launches; ++i) empty_kernel<<<1, 1, 0, s>>>();
    PB_CHECK(cudaStreamEndCapture(s, &g));
    PB_CHECK(cudaGraphInstantiate(&ge, g, 0));
    PB_CHECK(cudaGraphLaunch(ge, s));  // warm-up
    PB_CHECK(cudaStreamSynchronize(s));
    const auto t0 = std::chrono::steady_clock::now();
    PB_CHECK(cudaGraphLaunch(ge, s));
    PB_CHECK(cudaStreamSynchronize(s));
    us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / launches;
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
  }
  PB_CHECK(cudaGetLastError());
  cudaStreamDestroy(s);
  return us;
}

double fma_peak_flops(int reps) {
  const DeviceInfo d = device_info();
  const int blocks = d.sm_count * 8, threads = 256, steps = 4096;
  DeviceArray<float> sink(1);
  const double ms = time_events(reps, [&] { fma_chains<<<blocks, threads>>>(steps, 0.999f, 1e-4f, sink.p); });
  return 2.0 * 8 * steps * double(blocks) * threads / (ms * 1e-3);
}

double fma_latency_ns() {
  DeviceArray<float> out(1);
  const int steps = 1 << 20;
  const double ms = time_events(3, [&] { fma_dependent<<<1, 1>>>(steps, 0.999f, 1e-4f, out.p); });
  return ms * 1e6 / steps;
}

double chase_ns_per_load(index_t bytes) {
  const size_t stride = 128 / sizeof(unsigned), lines = std::max<size_t>(2, bytes / 128);
  std::vector<unsigned> order(lines), next(lines * stride, 0);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937_64 g(42);
  for (size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[g() % i]);  // Sattolo: one cycle
  for (size_t i = 0; i < lines; ++i) next[order[i] * stride] = order[(i + 1) % lines] * stride;
  DeviceArray<unsigned> d(next.data(), next.size()), out(1);
  const long long steps = 1 << 20;
  const double ms = time_events(3, [&] { chase_kernel<<<1, 1>>>(d.p, steps, out.p); });
  return ms * 1e6 / steps;
}

}  // namespace pb::gpu
