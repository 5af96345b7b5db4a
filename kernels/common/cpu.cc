#include "prunebench/cpu.h"

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

std::string model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(line.find_first_not_of(" \t", p + 1));
    }
  }
  return "unknown";
}

bool has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f");
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
  // index0..N: each has level and type (Data, Instruction, Unified).
  for (int i = 0; i < 8; ++i) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string lvl = read_first_line(dir + "level");
    if (lvl.empty()) break;
    std::string type = read_first_line(dir + "type");
    if (std::stoi(lvl) == level && type != "Instruction") return parse_size(read_first_line(dir + "size"));
  }
  return 0;
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
  return (id.empty() ? "unknown" : id) + "-" + std::to_string(cores()) + "c";
}

}  // namespace pb::cpu
