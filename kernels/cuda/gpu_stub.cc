// Built when CUDA is not available at configure time: every GPU entry point reports why.
#include <stdexcept>

#include "prunebench/gpu.h"

namespace pb::gpu {

namespace {
[[noreturn]] void no_cuda() { throw std::runtime_error("built without CUDA (nvcc not found at configure time)"); }
}  // namespace

std::string why_unavailable() { return "built without CUDA (nvcc not found at configure time)"; }
DeviceInfo device_info() { return {}; }
std::string why_unavailable_fp8() { return why_unavailable(); }
std::string why_unavailable_cusparselt() { return why_unavailable(); }
double Op::time_ms(int, bool) { no_cuda(); }
std::vector<float> cusparselt_prune(const std::string&, const float*, index_t, index_t) { no_cuda(); }
std::unique_ptr<Op> make_gemm(const std::string&, index_t, index_t, index_t, const float*, const float*) { no_cuda(); }
std::unique_ptr<Op> make_spmm(const std::string&, const Csr&, index_t, const float*, int) { no_cuda(); }
std::unique_ptr<Op> make_conv(const std::string&, const ConvShape&, const float*, const float*) { no_cuda(); }
double copy_bandwidth(index_t, const std::string&, int) { no_cuda(); }
double launch_latency_us(bool, int) { no_cuda(); }
double fma_peak_flops(int) { no_cuda(); }
double fma_latency_ns() { no_cuda(); }
double chase_ns_per_load(index_t) { no_cuda(); }

}  // namespace pb::gpu
