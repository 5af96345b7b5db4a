#include "config.h"

#include "prunebench/gpu.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "prunebench/cpu.h"
#include "prunebench/gpu.h"
#include "prunebench/prune.h"
#include "prunebench/spmm.h"

namespace pb::bench {

namespace {

using json = nlohmann::json;
using pb::PatternSpec;

// Largest single dimension we accept; past this a shape is a typo, not a layer.
constexpr index_t kMaxDim = index_t{1} << 20;

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

// A list of names, each one of `allowed`; absent means all of them.
// any_pattern: names are pruning patterns instead; bsr_heights: block patterns limited to the heights our BSR
// kernels have (CPU entries; the GPU's Blocked-ELL takes any square block).
std::vector<std::string> get_choices(const json& obj, const char* key, const std::vector<std::string>& allowed,
                                     const std::string& source, const std::string& where, bool any_pattern = false,
                                     bool bsr_heights = true) {
  if (!obj.contains(key)) return allowed;
  const json& v = obj[key];
  const std::string w = where + "." + key;
  if (!v.is_array() || v.empty()) fail(source, w, "expected a non-empty array of names");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string wi = w + "[" + std::to_string(i) + "]";
    if (!v[i].is_string()) fail(source, wi, "expected a string, got " + v[i].dump());
    const std::string name = v[i];
    if (any_pattern) {  // pruning patterns are a small language: random, block4x4, 2:4, ...
      try {
        const auto p = pb::parse_pattern(name);
        if (bsr_heights && p.kind == pb::PatternSpec::block && !pb::bsr_block_supported(p.r))
          fail(source, wi, "block height " + std::to_string(p.r) + " not supported (1, 2, 4 or 8)");
      } catch (const std::invalid_argument& err) {
        fail(source, wi, err.what());
      }
      out.push_back(name);
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(source, wi, "unknown value \"" + name + "\" (allowed: " + list + ")");
    }
    out.push_back(name);
  }
  return out;
}

// "bytes": [4096, 65536, ...] or {"factor": 2} (a sweep up to the DRAM size, see sweep_bytes).
std::vector<index_t> get_bytes(const json& obj, const std::string& source, const std::string& where) {
  const std::string w = where + ".bytes";
  if (!obj.contains("bytes")) return sweep_bytes(2.0);
  const json& v = obj["bytes"];
  if (v.is_object()) {
    check_keys(v, {"factor"}, source, w);
    if (!v.contains("factor")) fail(source, w, "missing key factor");
    return sweep_bytes(get_num(v["factor"], source, w + ".factor", 1.2, 64.0));
  }
  if (!v.is_array() || v.empty()) fail(source, w, "expected an array of byte counts or {\"factor\": F}");
  std::vector<index_t> out;
  const index_t avail = pb::cpu::available_memory_bytes();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string wi = w + "[" + std::to_string(i) + "]";
    const index_t b = get_int(v[i], source, wi, 4096, index_t{1} << 40);
    if (avail > 0 && b > avail / 2)
      fail(source, wi, std::to_string(b) + " bytes is more than half of the " + std::to_string(avail) +
                           " bytes of available memory");
    out.push_back(b);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Relative paths: a user's file resolves them against its own directory; embedded profiles against the
// source tree (where ../shared/data lives beside the checkout).
std::string resolve(const std::string& p, const std::string& source, const std::string& profile) {
  namespace fs = std::filesystem;
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal().string();
  const fs::path base = profile == "config" ? fs::absolute(fs::path(source)).parent_path() : fs::path(PB_SOURCE_DIR);
  return (base / path).lexically_normal().string();
}

std::vector<index_t> get_int_list(const json& v, const std::string& source, const std::string& where, index_t lo,
                                  index_t hi) {
  if (v.is_number_integer()) return {get_int(v, source, where, lo, hi)};
  if (!v.is_array() || v.empty()) fail(source, where, "expected an integer or a non-empty array of integers");
  std::vector<index_t> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(get_int(v[i], source, where + "[" + std::to_string(i) + "]", lo, hi));
  return out;
}

std::vector<double> get_sparsities(const json& v, const std::string& source, const std::string& where) {
  if (v.is_number()) return {get_num(v, source, where, 0.0, 1.0)};
  if (!v.is_array() || v.empty()) fail(source, where, "expected a number or a non-empty array of numbers in [0, 1]");
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double x = get_num(v[i], source, where + "[" + std::to_string(i) + "]", 0.0, 1.0);
    if (x >= 1.0) fail(source, where + "[" + std::to_string(i) + "]", "sparsity 1 leaves no weights");
    out.push_back(x);
  }
  return out;
}

// `kernel_ids`: what an entry's "kernels" key may name (the CPU or the GPU registry's SpMM ids).
void parse_spmm(const json& arr, const std::string& source, const std::string& profile, Config& c,
                const std::vector<std::string>& kernel_ids, bool gpu = false) {
  namespace fs = std::filesystem;
  if (!arr.is_array()) fail(source, "spmm", "expected an array of problems");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string where = "spmm[" + std::to_string(i) + "]";
    const json& e = arr[i];
    check_keys(e, {"M", "K", "N", "sparsity", "pattern", "npy", "smtx", "batchsizes", "kernels"}, source, where);
    SpmmEntry s;
    const int kinds = e.contains("smtx") + e.contains("npy") + (e.contains("M") || e.contains("K"));
    if (kinds != 1) fail(source, where, "give exactly one of {M, K}, \"npy\" or \"smtx\"");
    if (!e.contains("N")) fail(source, where, "missing key N");
    s.N = get_int_list(e["N"], source, where + ".N", 1, kMaxDim);
    if (e.contains("kernels")) {
      s.kernels = get_choices(e, "kernels", kernel_ids, source, where);
    }
    auto path_of = [&](const char* key) {
      if (!e[key].is_string() || e[key].get<std::string>().empty()) fail(source, where + "." + key, "expected a path");
      return resolve(e[key].get<std::string>(), source, profile);
    };
    if (e.contains("smtx")) {
      if (e.contains("pattern")) fail(source, where + ".pattern", "an .smtx file brings its own pattern");
      s.smtx = path_of("smtx");
      if (e.contains("sparsity")) s.sparsity = get_sparsities(e["sparsity"], source, where + ".sparsity");
      if (e.contains("batchsizes")) s.batchsizes = path_of("batchsizes");
      if (!fs::exists(s.smtx)) {
        // Our profiles name the DLMC sample beside the checkout; without it the rest of the profile still runs.
        if (profile != "config") {
          c.warnings.push_back(source + ": " + where + ": " + s.smtx + " not found, its rows are skipped");
          continue;
        }
        fail(source, where + ".smtx", s.smtx + " does not exist");
      }
    } else {
      if (e.contains("batchsizes")) fail(source, where + ".batchsizes", "only for smtx entries");
      if (!e.contains("sparsity")) fail(source, where, "missing key sparsity");
      if (!e.contains("pattern")) fail(source, where, "missing key pattern");
      s.sparsity = get_sparsities(e["sparsity"], source, where + ".sparsity");
      s.patterns = get_choices(e, "pattern", {}, source, where, /*any_pattern=*/true, /*bsr_heights=*/!gpu);
      if (e.contains("npy")) {
        s.npy = path_of("npy");
        if (!fs::exists(s.npy)) fail(source, where + ".npy", s.npy + " does not exist");
      } else {
        for (const char* key : {"M", "K"})
          if (!e.contains(key)) fail(source, where, std::string("missing key ") + key);
        s.M = get_int(e["M"], source, where + ".M", 1, kMaxDim);
        s.K = get_int(e["K"], source, where + ".K", 1, kMaxDim);
        for (index_t n : s.N) {
          const double bytes = 4.0 * (3.0 * s.M * s.K + double(s.K) * n + double(s.M) * n);
          const double avail = static_cast<double>(pb::cpu::available_memory_bytes());
          if (avail > 0 && bytes > 0.5 * avail)
            fail(source, where, "M=" + std::to_string(s.M) + " K=" + std::to_string(s.K) + " N=" + std::to_string(n) +
                                    " does not fit in half of the available memory");
        }
      }
    }
    c.spmm.push_back(std::move(s));
  }
}


std::vector<GemmShape> parse_gemm(const json& g, const std::string& source, const std::string& key) {
  std::vector<GemmShape> out;
  {
    if (!g.is_array()) fail(source, key, "expected an array of {\"M\":..,\"N\":..,\"K\":..}");
    for (std::size_t i = 0; i < g.size(); ++i) {
      const std::string where = key + "[" + std::to_string(i) + "]";
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
      out.push_back(s);
    }
  }
  return out;
}

std::vector<ConvEntry> parse_conv(const json& arr, const std::string& source, const std::string& key) {
  std::vector<ConvEntry> out;
  {
    if (!arr.is_array()) fail(source, key, "expected an array of layers");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string where = key + "[" + std::to_string(i) + "]";
      const json& e = arr[i];
      check_keys(e, {"N", "C", "H", "W", "K", "R", "S", "stride", "pad", "sparsity", "pattern"}, source, where);
      ConvEntry ce;
      auto dim = [&](const char* key, index_t lo, index_t def) {
        if (!e.contains(key)) {
          if (def < 0) fail(source, where, std::string("missing key ") + key);
          return def;
        }
        return get_int(e[key], source, where + "." + key, lo, 1 << 16);
      };
      ce.shape = {dim("N", 1, 1), dim("C", 1, -1), dim("H", 1, -1), dim("W", 1, -1), dim("K", 1, -1), dim("R", 1, -1),
                  dim("S", 1, -1), dim("stride", 1, 1), dim("pad", 0, 0)};
      if (!ce.shape.valid()) fail(source, where, "the filter is larger than the padded input");
      const pb::ConvShape& s = ce.shape;
      const double bytes = 4.0 * (2.0 * s.N * s.C * s.H * s.W + 2.0 * s.K * s.C * s.R * s.S + double(s.N) * s.K * s.OH() * s.OW() +
                                  double(s.C) * s.R * s.S * s.OH() * s.OW());
      const double avail = static_cast<double>(pb::cpu::available_memory_bytes());
      if (avail > 0 && bytes > 0.5 * avail) fail(source, where, "the layer does not fit in half of the available memory");
      ce.sparsity = e.contains("sparsity") ? get_sparsities(e["sparsity"], source, where + ".sparsity") : std::vector<double>{0.0};
      // magnitude, block<r>x<c> and <n>:<m> along C*R*S (the filters are K x C*R*S), or structured filters/channels.
      ce.patterns = {"magnitude"};
      if (e.contains("pattern")) {
        const json& pv = e["pattern"];
        if (!pv.is_array() || pv.empty()) fail(source, where + ".pattern", "expected a non-empty array of patterns");
        ce.patterns.clear();
        for (std::size_t k = 0; k < pv.size(); ++k) {
          const std::string wk = where + ".pattern[" + std::to_string(k) + "]";
          if (!pv[k].is_string()) fail(source, wk, "expected a string, got " + pv[k].dump());
          const std::string name = pv[k];
          if (name != "filters" && name != "channels") {
            PatternSpec ps{PatternSpec::magnitude};
            try {
              ps = pb::parse_pattern(name);
            } catch (const std::invalid_argument& err) {
              fail(source, wk, err.what());
            }
            if (ps.kind == PatternSpec::random || ps.kind == PatternSpec::rows || ps.kind == PatternSpec::channels)
              fail(source, wk, "\"" + name + "\" is not a conv pattern (magnitude, filters, channels, block<r>x<c>, <n>:<m>)");
            if (ps.kind == PatternSpec::block && !pb::bsr_block_supported(ps.r))
              fail(source, wk, "block height " + std::to_string(ps.r) + " not supported (1, 2, 4 or 8)");
          }
          ce.patterns.push_back(name);
        }
      }
      out.push_back(ce);
    }
  }
  return out;
}

}  // namespace

Config parse_config(const json& j, const std::string& source, const std::string& profile) {
  Config c;
  c.profile = profile;
  c.source = source;
  check_keys(j, {"threads", "repetitions", "min_time", "naive_max_gflop", "gemm", "peak", "latency_op", "mem_bw",
                 "mem_lat", "spmm", "conv", "gpu", "guard"},
             source, "");

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

  if (j.contains("guard")) {
    const json& g = j["guard"];
    if (g.is_boolean()) {
      c.guard.enabled = g.get<bool>();
    } else if (g.is_object()) {
      check_keys(g, {"margin", "memory_margin", "steal", "c2c_margin", "fma_margin", "spread"}, source, "guard");
      if (g.contains("margin")) c.guard.margin = get_num(g["margin"], source, "guard.margin", 0.001, 1.0);
      if (g.contains("memory_margin"))
        c.guard.memory_margin = get_num(g["memory_margin"], source, "guard.memory_margin", 0.001, 1.0);
      if (g.contains("steal")) c.guard.steal = get_num(g["steal"], source, "guard.steal", 0.0, 1.0);
      if (g.contains("c2c_margin"))
        c.guard.c2c_margin = get_num(g["c2c_margin"], source, "guard.c2c_margin", 0.05, 100.0);
      if (g.contains("fma_margin"))
        c.guard.fma_margin = get_num(g["fma_margin"], source, "guard.fma_margin", 0.001, 1.0);
      if (g.contains("spread")) c.guard.spread = get_num(g["spread"], source, "guard.spread", 0.05, 100.0);
    } else {
      fail(source, "guard",
           "expected false, true or {\"margin\": 0.1, \"memory_margin\": 0.5, \"steal\": 0.05, \"c2c_margin\": 1, "
           "\"fma_margin\": 0.25, \"spread\": 0.5}");
    }
  }
  if (j.contains("gemm")) c.gemm = parse_gemm(j["gemm"], source, "gemm");
  if (j.contains("peak")) {
    check_keys(j["peak"], {"dtypes"}, source, "peak");
    c.peak.enabled = true;
    c.peak.dtypes = get_choices(j["peak"], "dtypes", {"f32", "f64"}, source, "peak");
  }
  if (j.contains("latency_op")) {
    check_keys(j["latency_op"], {"ops", "dtypes"}, source, "latency_op");
    c.latency_op.enabled = true;
    c.latency_op.ops = get_choices(j["latency_op"], "ops", {"fma", "add", "mul", "div"}, source, "latency_op");
    c.latency_op.dtypes = get_choices(j["latency_op"], "dtypes", {"f32", "f64"}, source, "latency_op");
  }
  if (j.contains("mem_bw")) {
    check_keys(j["mem_bw"], {"ops", "bytes"}, source, "mem_bw");
    c.mem_bw.enabled = true;
    c.mem_bw.kinds = get_choices(j["mem_bw"], "ops",
                                 {"read", "write", "copy", "triad", "write_nt", "copy_nt", "triad_nt"}, source,
                                 "mem_bw");
    c.mem_bw.bytes = get_bytes(j["mem_bw"], source, "mem_bw");
  }
  if (j.contains("mem_lat")) {
    check_keys(j["mem_lat"], {"patterns", "bytes"}, source, "mem_lat");
    c.mem_lat.enabled = true;
    c.mem_lat.kinds = get_choices(j["mem_lat"], "patterns", {"chase", "chase_huge", "stride"}, source, "mem_lat");
    c.mem_lat.bytes = get_bytes(j["mem_lat"], source, "mem_lat");
  }
  if (j.contains("spmm")) parse_spmm(j["spmm"], source, profile, c, pb::spmm_kernel_ids());
  if (j.contains("conv")) c.conv = parse_conv(j["conv"], source, "conv");
  if (j.contains("gpu")) {
    const json& g = j["gpu"];
    check_keys(g, {"copy_bytes", "chase_bytes", "gemm", "spmm", "conv", "l2_flush", "gemm_inputs"}, source, "gpu");
    if (g.contains("gemm_inputs")) c.gpu.gemm_inputs = get_choices(g, "gemm_inputs", {"uniform", "normal"}, source, "gpu");
    c.gpu.enabled = true;
    if (g.contains("l2_flush")) {
      const json& f = g["l2_flush"];
      if (!f.is_string() || (f != "auto" && f != "on" && f != "off"))
        fail(source, "gpu.l2_flush", "must be \"auto\", \"on\" or \"off\"");
      c.gpu.l2_flush = f.get<std::string>();
    }
    if (g.contains("copy_bytes")) c.gpu.copy_bytes = get_int_list(g["copy_bytes"], source, "gpu.copy_bytes", 4096, index_t{1} << 36);
    if (g.contains("chase_bytes")) c.gpu.chase_bytes = get_int_list(g["chase_bytes"], source, "gpu.chase_bytes", 4096, index_t{1} << 36);
    if (g.contains("gemm")) c.gpu.gemm = parse_gemm(g["gemm"], source, "gpu.gemm");
    if (g.contains("conv")) c.gpu.conv = parse_conv(g["conv"], source, "gpu.conv");
    if (g.contains("spmm")) {
      Config tmp;
      std::vector<std::string> gpu_ids;  // the GPU registry's, nothing listed here
      for (const auto& k : pb::gpu::gpu_kernels())
        if (k.info.op == "spmm" && std::find(gpu_ids.begin(), gpu_ids.end(), k.info.id()) == gpu_ids.end())
          gpu_ids.push_back(k.info.id());
      parse_spmm(g["spmm"], source, profile, tmp, gpu_ids, /*gpu=*/true);
      for (const auto& e : tmp.spmm)
        if (!e.smtx.empty() || !e.npy.empty()) fail(source, "gpu.spmm", "GPU SpMM takes generated weights (M, K) only");
      c.gpu.spmm = tmp.spmm;
    }
  }
  return c;
}

index_t dram_bytes() {
  index_t llc = 0;
  for (int level = 1; level <= 4; ++level) llc = std::max<index_t>(llc, pb::cpu::cache_bytes(level));
  index_t want = std::max<index_t>(4 * llc, index_t{256} << 20);
  const index_t avail = pb::cpu::available_memory_bytes();
  if (avail > 0) want = std::min<index_t>(want, avail / 4);
  return want;
}

std::vector<index_t> sweep_bytes(double factor) {
  std::vector<index_t> out;
  const index_t top = dram_bytes();
  for (double b = 4096; b < top; b *= factor) out.push_back(static_cast<index_t>(b) / 64 * 64);
  out.push_back(top / 64 * 64);
  return out;
}

std::vector<std::string> profile_names() { return {"quick", "default", "full", "gpu"}; }

Config load_profile(const std::string& name) {
  const char* text = embedded_profile(name);
  if (!text) throw ConfigError("unknown profile '" + name + "' (choose quick, default, full or gpu)");
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
