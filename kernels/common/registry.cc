#include "prunebench/registry.h"

#include "prunebench/gemm.h"

namespace pb {

std::vector<KernelInfo> all_kernels() {
  std::vector<KernelInfo> out;
  for (const auto& k : gemm_kernels()) out.push_back(k.info);
  return out;
}

}  // namespace pb
