#include "prunebench/registry.h"

#include <algorithm>

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
  // CUDA backends, once per id (cuBLAS has one entry per precision under the same id).
  for (const auto& k : gpu::gpu_kernels()) {
    const bool seen = std::any_of(out.begin(), out.end(), [&](const KernelInfo& i) {
      return i.op == k.info.op && i.id() == k.info.id();
    });
    if (!seen) out.push_back(k.info);
  }
  out.push_back({"mem_lat", "naive", "chase", {}, nullptr});
  out.push_back({"mem_lat", "naive", "chase_huge", {}, nullptr});
  out.push_back({"mem_lat", "naive", "stride", {}, nullptr});
  return out;
}

}  // namespace pb
