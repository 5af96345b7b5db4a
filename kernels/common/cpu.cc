#include "prunebench/cpu.h"

#include <array>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <omp.h>
#include <sched.h>

namespace pb::cpu {

namespace {
std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}
// sysfs writes sizes as "48K" or "2048K" or "32M".
std::int64_t parse_size(const std::string& s) {
  if (s.empty()) return 0;
  std::int64_t v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
  if (i < s.size() && (s[i] == 'K' || s[i] == 'k')) v <<= 10;
  if (i < s.size() && (s[i] == 'M' || s[i] == 'm')) v <<= 20;
  return v;
}
}  // namespace

// The value of the first "key : value" line of /proc/cpuinfo whose key is exactly `key`.
std::string cpuinfo(const std::string& key) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    const auto p = line.find(':');
    if (p == std::string::npos) continue;
    std::string k = line.substr(0, p);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    if (k != key) continue;
    const auto v = line.find_first_not_of(" \t", p + 1);
    return v == std::string::npos ? std::string() : line.substr(v);
  }
  return {};
}

std::string model() {
  const std::string m = cpuinfo("model name");
  return m.empty() ? "unknown" : m;
}

std::string vendor() { return cpuinfo("vendor_id"); }
int family() { const std::string v = cpuinfo("cpu family"); return v.empty() ? -1 : std::stoi(v); }
int model_number() { const std::string v = cpuinfo("model"); return v.empty() ? -1 : std::stoi(v); }

std::string microarchitecture(const std::string& vendor, int family, int model) {
  if (vendor == "AuthenticAMD") {
    if (family == 0x17) return model >= 0x30 ? "zen2" : "zen1";
    if (family == 0x19) return (model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0xaf) ? "zen4" : "zen3";
    if (family == 0x1a) return "zen5";
  } else if (vendor == "GenuineIntel" && family == 6) {
    switch (model) {
      case 0x55: return "skylake-x";  // also Cascade Lake and Cooper Lake: the same cores and ISA for our kernels
      case 0x6a: case 0x6c: return "icelake-x";
      case 0x8f: return "sapphire-rapids";
      case 0xcf: return "emerald-rapids";
      case 0xad: case 0xae: return "granite-rapids";
      case 0x3f: return "haswell-x";
      case 0x4f: return "broadwell-x";
      default: break;
    }
  }
  if (family < 0) return "";
  char buf[32];  // unknown part: its family and model
  std::snprintf(buf, sizeof buf, "f%dm%d", family, model);
  return buf;
}

std::string microarchitecture() { return microarchitecture(vendor(), family(), model_number()); }

std::string isa_cap() {
  const char* v = std::getenv("PB_MAX_ISA");
  const std::string cap = v ? v : "";
  return cap == "avx2" || cap == "generic" ? cap : "";
}

std::string isa_cap_error() {
  const char* v = std::getenv("PB_MAX_ISA");
  if (!v || !*v) return {};
  const std::string cap = v;
  if (cap == "avx2" || cap == "generic" || cap == "avx512") return {};
  return "PB_MAX_ISA='" + cap + "' is not one of avx512, avx2, generic";
}

bool has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && isa_cap() != "generic";
#else
  return false;
#endif
}

bool has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f") && isa_cap().empty();
#else
  return false;
#endif
}

std::string isa() {
  std::string s;
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) s += "avx512f ";
  if (__builtin_cpu_supports("avx2")) s += "avx2 ";
  if (__builtin_cpu_supports("fma")) s += "fma ";
  if (__builtin_cpu_supports("avx")) s += "avx ";
  s += "sse2";
#else
  s = "generic";
#endif
  return s;
}

int cores() {
  // Not sched_getaffinity alone: with OMP_PROC_BIND set, libgomp pins the initial thread to one core before
  // main() runs, and the affinity mask then says 1. omp_get_num_procs reports the mask libgomp started from.
  const int omp = omp_get_num_procs();
  if (omp > 0) return omp;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

std::int64_t cache_bytes(int level) {
  // Read once: kernels ask on every call (panel sizes), and a sysfs read costs microseconds.
  static const std::array<std::int64_t, 8> sizes = [] {
    std::array<std::int64_t, 8> by_level{};
    // index0..N: each has level and type (Data, Instruction, Unified); the first data cache of a level counts.
    for (int i = 0; i < 8; ++i) {
      std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
      std::string lvl = read_first_line(dir + "level");
      if (lvl.empty()) break;
      const int l = std::stoi(lvl);
      if (l < 0 || l >= 8 || by_level[l] != 0 || read_first_line(dir + "type") == "Instruction") continue;
      by_level[l] = parse_size(read_first_line(dir + "size"));
    }
    return by_level;
  }();
  return level >= 0 && level < 8 ? sizes[level] : 0;
}

std::int64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

std::string machine_id() {
  // Lower-case alphanumeric words of the model name joined by '-', without the trademark noise vendors put in
  // ("(R)", "(TM)", "CPU", "Processor"); the clock stays, it tells parts apart.
  std::string id, word;
  auto flush = [&] {
    if (!word.empty() && word != "r" && word != "tm" && word != "cpu" && word != "processor")
      id += (id.empty() ? "" : "-") + word;
    word.clear();
  };
  for (char ch : model()) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
      word += ch;
    } else {
      flush();
    }
  }
  flush();
  // A VM often reports a bare "AMD EPYC" for every generation: the microarchitecture tells Zen 3 from Zen 4.
  const std::string uarch = microarchitecture();
  if (!uarch.empty() && id.find(uarch) == std::string::npos) {
    if (!id.empty()) id += '-';
    id += uarch;
  }
  return (id.empty() ? "unknown" : id) + "-" + std::to_string(cores()) + "c";
}

}  // namespace pb::cpu
