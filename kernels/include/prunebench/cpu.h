// What the CPU and OS say about this machine: model, ISA extensions, cores, cache sizes.
#pragma once
#include <cstdint>
#include <string>

namespace pb::cpu {

std::string model();          // /proc/cpuinfo "model name"
std::string vendor();         // "AuthenticAMD", "GenuineIntel"
int family();                 // cpuid family and model (as /proc/cpuinfo prints them); -1 when unknown
int model_number();
// The core generation from vendor, family and model: "zen3", "zen4", "sapphire-rapids", ...; "f<family>m<model>"
// for a part not in the table, "" when /proc/cpuinfo says nothing.
std::string microarchitecture(const std::string& vendor, int family, int model);
std::string microarchitecture();
bool has_avx2_fma();          // runtime check (cpuid), independent of the compile flags
bool has_avx512f();
std::string isa();            // e.g. "avx512f avx2 fma" — the SIMD levels this CPU offers
int cores();                  // logical CPUs available to this process
std::int64_t cache_bytes(int level);  // from sysfs; 0 when unknown (level 1 = L1d)
std::int64_t available_memory_bytes();  // MemAvailable; 0 when unknown
// A file-name-safe id of this machine for results/<machine-id>/ and baselines: CPU model, microarchitecture and
// core count, e.g. "amd-epyc-zen4-2c" (a VM names Zen 3 and Zen 4 both "AMD EPYC"). Two runs with the same id are comparable; different ids never silently are.
std::string machine_id();

}  // namespace pb::cpu
