#include "config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "prunebench/cpu.h"

namespace pb::bench {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& source, const std::string& where, const std::string& why) {
  throw ConfigError(source + ": " + where + ": " + why);
}

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& source,
                const std::string& where) {
  if (!obj.is_object()) fail(source, where, "expected an object, got " + std::string(obj.type_name()));
  for (const auto& [k, v] : obj.items()) {
    if (k.rfind('_', 0) == 0) continue;  // "_comment" and friends: documentation inside the file
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(source, where.empty() ? k : where + "." + k, "unknown key (allowed: " + list + ")");
    }
  }
}

index_t get_int(const json& v, const std::string& source, const std::string& where, index_t lo, index_t hi) {
  if (!v.is_number_integer()) fail(source, where, "expected an integer, got " + v.dump());
  const auto x = v.get<std::int64_t>();
  if (x < lo || x > hi) fail(source, where, v.dump() + " is out of range [" + std::to_string(lo) + ", " +
                                                std::to_string(hi) + "]");
  return x;
}

double get_num(const json& v, const std::string& source, const std::string& where, double lo, double hi) {
  if (!v.is_number()) fail(source, where, "expected a number, got " + v.dump());
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) fail(source, where, v.dump() + " is out of range");
  return x;
}

// Largest single dimension we accept; past this a shape is a typo, not a layer.
constexpr index_t kMaxDim = index_t{1} << 20;

}  // namespace

Config parse_config(const json& j, const std::string& source, const std::string& profile) {
  Config c;
  c.profile = profile;
  c.source = source;
  check_keys(j, {"threads", "repetitions", "min_time", "naive_max_gflop", "gemm"}, source, "");

  const int cores = pb::cpu::cores();
  if (j.contains("threads")) {
    const json& t = j["threads"];
    if (!t.is_array() || t.empty()) fail(source, "threads", "expected a non-empty array of thread counts");
    for (std::size_t i = 0; i < t.size(); ++i) {
      const std::string where = "threads[" + std::to_string(i) + "]";
      // "cores" means every core this process may run on, so one profile fits every machine.
      if (t[i].is_string() && t[i] == "cores") {
        c.threads.push_back(cores);
      } else {
        c.threads.push_back(static_cast<int>(get_int(t[i], source, where, 1, 4096)));
      }
    }
  } else {
    c.threads = {1, cores};
  }
  // Our own profiles list counts up to 64 so one file fits every machine; counts above this machine's cores would
  // only oversubscribe, so they are dropped. A user's file is taken as written.
  if (profile != "config")
    std::erase_if(c.threads, [cores](int t) { return t > cores; });
  std::sort(c.threads.begin(), c.threads.end());
  c.threads.erase(std::unique(c.threads.begin(), c.threads.end()), c.threads.end());

  if (j.contains("repetitions")) c.repetitions = static_cast<int>(get_int(j["repetitions"], source, "repetitions", 1, 1000));
  if (j.contains("min_time")) c.min_time = get_num(j["min_time"], source, "min_time", 0.0, 3600.0);
  if (j.contains("naive_max_gflop"))
    c.naive_max_gflop = get_num(j["naive_max_gflop"], source, "naive_max_gflop", 0.0, 1e6);

  if (j.contains("gemm")) {
    const json& g = j["gemm"];
    if (!g.is_array()) fail(source, "gemm", "expected an array of {\"M\":..,\"N\":..,\"K\":..}");
    for (std::size_t i = 0; i < g.size(); ++i) {
      const std::string where = "gemm[" + std::to_string(i) + "]";
      check_keys(g[i], {"M", "N", "K"}, source, where);
      for (const char* key : {"M", "N", "K"})
        if (!g[i].contains(key)) fail(source, where, std::string("missing key ") + key);
      GemmShape s{get_int(g[i]["M"], source, where + ".M", 1, kMaxDim),
                  get_int(g[i]["N"], source, where + ".N", 1, kMaxDim),
                  get_int(g[i]["K"], source, where + ".K", 1, kMaxDim)};
      // A, B, C and the float64 check rows must fit in memory with room to spare.
      const double bytes = 4.0 * (double(s.M) * s.K + double(s.K) * s.N + double(s.M) * s.N);
      const double avail = static_cast<double>(pb::cpu::available_memory_bytes());
      if (avail > 0 && bytes > 0.5 * avail) {
        std::ostringstream os;
        os << "M=" << s.M << " N=" << s.N << " K=" << s.K << " needs " << bytes / 1e9 << " GB, more than half of the "
           << avail / 1e9 << " GB available";
        fail(source, where, os.str());
      }
      c.gemm.push_back(s);
    }
  }
  return c;
}

std::vector<std::string> profile_names() { return {"quick", "default", "full"}; }

Config load_profile(const std::string& name) {
  const char* text = embedded_profile(name);
  if (!text) throw ConfigError("unknown profile '" + name + "' (choose quick, default or full)");
  return parse_config(json::parse(text), "profile " + name, name);
}

Config load_config_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot open config file");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::parse_error& e) {
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    std::string what = e.what();
    auto p = what.find("] ");
    throw ConfigError(path + ": not valid JSON: " + (p == std::string::npos ? what : what.substr(p + 2)));
  }
  return parse_config(j, path, "config");
}

}  // namespace pb::bench
