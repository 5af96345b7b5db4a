// What the CPU and OS say about this machine: model, ISA extensions, cores, cache sizes.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pb::cpu {

std::string model();          // /proc/cpuinfo "model name"
std::string vendor();         // "AuthenticAMD", "GenuineIntel"
int family();                 // cpuid family and model (as /proc/cpuinfo prints them); -1 when unknown
int model_number();
// The core generation from vendor, family and model: "zen3", "zen4", "sapphire-rapids", ...; "f<family>m<model>"
// for a part not in the table, "" when /proc/cpuinfo says nothing.
std::string microarchitecture(const std::string& vendor, int family, int model);
std::string microarchitecture();
// Runtime checks (cpuid), independent of the compile flags, lowered by PB_MAX_ISA: every dispatcher asks these, so
// an AVX-512 machine can measure the AVX2 (or generic) code and libraries too.
bool has_avx2_fma();
bool has_avx512f();
// PB_MAX_ISA: "avx2" or "generic" caps what our kernels use (prunebench also asks OpenBLAS, oneDNN and oneMKL to
// stay below it); "" when unset. Anything else is an error the binary reports (isa_cap_error).
std::string isa_cap();
std::string isa_cap_error();  // empty when PB_MAX_ISA is unset or valid
std::string isa();            // e.g. "avx512f avx2 fma" — the SIMD levels this CPU offers
int cores();                  // logical CPUs available to this process
std::int64_t cache_bytes(int level);  // from sysfs; 0 when unknown (level 1 = L1d)
std::int64_t available_memory_bytes();  // MemAvailable; 0 when unknown
// A file-name-safe id of this machine for results/<machine-id>/ and baselines: CPU model, microarchitecture and
// core count, e.g. "amd-epyc-zen4-2c" (a VM names Zen 3 and Zen 4 both "AMD EPYC"). Two runs with the same id are comparable; different ids never silently are.
std::string machine_id();

// The ISA instances of one kernel that this CPU runs (as capped by PB_MAX_ISA), widest first: a per-ISA dispatcher
// runs front(), the tests run them all.
template <class Fn>
std::vector<std::pair<std::string, Fn>> isa_instances(Fn avx512, Fn avx2, Fn generic) {
  std::vector<std::pair<std::string, Fn>> v;
  if (has_avx512f()) v.emplace_back("avx512", avx512);
  if (has_avx2_fma()) v.emplace_back("avx2", avx2);
  v.emplace_back("generic", generic);
  return v;
}

}  // namespace pb::cpu
