#include "prunebench/registry.h"

#include "prunebench/conv.h"
#include "prunebench/gemm.h"
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
  for (const auto& k : conv_kernels()) out.push_back(k.info);
  out.push_back({"mem_lat", "naive", "chase", {}, nullptr});
  out.push_back({"mem_lat", "naive", "chase_huge", {}, nullptr});
  out.push_back({"mem_lat", "naive", "stride", {}, nullptr});
  return out;
}

}  // namespace pb
