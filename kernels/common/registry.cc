#include "prunebench/registry.h"

#include <tuple>

#include "prunebench/conv.h"
#include "prunebench/gemm.h"
#include "prunebench/gpu.h"
#include "prunebench/memory.h"
#include "prunebench/peak.h"
#include "prunebench/spmm.h"

namespace pb {

std::vector<KernelInfo> all_kernels() {
  std::vector<KernelInfo> out;
  for (const auto& k : gemm_kernels()) out.push_back(k.info);
  for (const auto& k : peak_kernels()) out.push_back(k.info);
  for (const auto& k : latency_kernels()) out.push_back(k.info);
  for (const auto& k : bw_kernels()) out.push_back(k.info);
  for (const auto& k : spmm_kernels()) out.push_back(k.info);
  for (const auto& r : spmm_dense_routes()) out.push_back(r.info);
  for (const auto& k : conv_kernels()) out.push_back(k.info);
  // CUDA backends (kernels/cuda/, benchmarked by bench/gpu.cc through pb::gpu factories).
  for (auto [op, backend, variant] : {std::tuple<const char*, const char*, const char*>{"gemm", "cuda", "naive"},
                                      {"gemm", "cuda", "tiled"}, {"gemm", "cublas", ""}, {"gemm", "cublas", "lt"},
                                      {"spmm", "cuda", "csr"}, {"spmm", "cuda", "csr_tiled"},
                                      {"spmm", "cusparse", "csr"}, {"spmm", "cusparse", "bell"},
                                      {"conv", "cuda", "direct"}, {"conv", "cudnn", "direct"}})
    out.push_back({op, backend, variant, {}, [] { return gpu::why_unavailable(); }});
  out.push_back({"mem_lat", "naive", "chase", {}, nullptr});
  out.push_back({"mem_lat", "naive", "chase_huge", {}, nullptr});
  out.push_back({"mem_lat", "naive", "stride", {}, nullptr});
  return out;
}

}  // namespace pb
