// GPU clocks and their limiting reasons through NVML, opened at run time from the driver's libnvidia-ml.so.1:
// nothing to link (a build machine without a driver still builds), and every entry point NVML has kept stable
// since CUDA 11. The few declarations needed are written here; where nvml.h is present at build time (PyPI
// nvidia-nvml-dev, which scripts/test installs) the constants are checked against it.
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "prunebench/gpu.h"

#if __has_include(<nvml.h>)
#include <nvml.h>
static_assert(NVML_SUCCESS == 0 && NVML_CLOCK_SM == 1 && NVML_CLOCK_MEM == 2);
static_assert(pb::gpu::kSlowdownReasons ==
              (nvmlClocksEventReasonSwPowerCap | nvmlClocksThrottleReasonHwSlowdown | nvmlClocksEventReasonSwThermalSlowdown |
               nvmlClocksThrottleReasonHwThermalSlowdown | nvmlClocksThrottleReasonHwPowerBrakeSlowdown |
               nvmlClocksEventReasonBoardLimit | nvmlClocksEventReasonReliability));
#endif

namespace pb::gpu {

namespace {

using Device = void*;  // nvmlDevice_t
using Init = int (*)();
using ByBus = int (*)(const char*, Device*);
using ByIndex = int (*)(unsigned, Device*);
using Clock = int (*)(Device, int, unsigned*);
using Reasons = int (*)(Device, unsigned long long*);
using ErrorString = const char* (*)(int);
constexpr int kSm = 1, kMem = 2;

struct Nvml {
  void* lib = nullptr;
  std::string why;
  ByBus by_bus = nullptr;
  ByIndex by_index = nullptr;
  Clock clock = nullptr, max_clock = nullptr;
  Reasons reasons = nullptr;
  ErrorString error = nullptr;
};

const Nvml& nvml() {
  static Nvml n;
  static std::once_flag once;
  std::call_once(once, [] {
    n.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!n.lib) {
      n.why = std::string("NVML not available: ") + dlerror();
      return;
    }
    auto sym = [](const char* name) { return dlsym(n.lib, name); };
    auto init = reinterpret_cast<Init>(sym("nvmlInit_v2"));
    n.by_bus = reinterpret_cast<ByBus>(sym("nvmlDeviceGetHandleByPciBusId_v2"));
    n.by_index = reinterpret_cast<ByIndex>(sym("nvmlDeviceGetHandleByIndex_v2"));
    n.clock = reinterpret_cast<Clock>(sym("nvmlDeviceGetClockInfo"));
    n.max_clock = reinterpret_cast<Clock>(sym("nvmlDeviceGetMaxClockInfo"));
    n.reasons = reinterpret_cast<Reasons>(sym("nvmlDeviceGetCurrentClocksEventReasons"));
    if (!n.reasons) n.reasons = reinterpret_cast<Reasons>(sym("nvmlDeviceGetCurrentClocksThrottleReasons"));  // drivers before 535
    n.error = reinterpret_cast<ErrorString>(sym("nvmlErrorString"));
    if (!init || !n.by_bus || !n.by_index || !n.clock || !n.max_clock || !n.reasons) {
      n.why = "NVML: libnvidia-ml.so.1 lacks an entry point prunebench reads";
      return;
    }
    if (const int rc = init(); rc != 0) n.why = std::string("nvmlInit: ") + (n.error ? n.error(rc) : std::to_string(rc));
  });
  return n;
}

}  // namespace

Clocks read_clocks(const std::string& pci_bus_id) {
  Clocks c;
  const Nvml& n = nvml();
  if (!n.why.empty()) {
    c.why = n.why;
    return c;
  }
  Device d = nullptr;
  const int rc = pci_bus_id.empty() ? n.by_index(0, &d) : n.by_bus(pci_bus_id.c_str(), &d);
  if (rc != 0) {
    c.why = std::string("NVML device handle: ") + (n.error ? n.error(rc) : std::to_string(rc));
    return c;
  }
  c.ok = n.clock(d, kSm, &c.sm_mhz) == 0 && n.clock(d, kMem, &c.mem_mhz) == 0 && n.max_clock(d, kSm, &c.sm_max_mhz) == 0 &&
         n.max_clock(d, kMem, &c.mem_max_mhz) == 0 && n.reasons(d, &c.reasons) == 0;
  if (!c.ok) c.why = "NVML: a clock query failed";
  return c;
}

std::string reason_words(unsigned long long r) {
  static const std::pair<unsigned long long, const char*> names[] = {
      {0x1, "idle"},          {0x2, "app_clocks"},  {0x4, "sw_power_cap"},       {0x8, "hw_slowdown"},
      {0x10, "sync_boost"},   {0x20, "sw_thermal"}, {0x40, "hw_thermal"},        {0x80, "hw_power_brake"},
      {0x100, "display"},     {0x200, "board_limit"}, {0x400, "reliability"}};
  std::string out;
  for (const auto& [bit, name] : names)
    if (r & bit) {
      if (!out.empty()) out += ' ';
      out += name;
    }
  return out;
}

}  // namespace pb::gpu
