// One benchmark row, described once: what it runs (family, kernel, device) and on what (its parameters in the
// contract's order). The row's name is built from it (docs/design.md "Benchmark names") and the same description is
// written into the JSON (`prunebench_rows`), so no script has to parse a name or keep a list of backends.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "prunebench/types.h"

namespace pb::bench {

struct RowSpec {
  std::string family;   // peak, latency_op, mem_bw, mem_lat, gemm, spmm, conv
  std::string backend;  // the kernel's registry id is backend[/variant]
  std::string variant;
  std::vector<std::pair<std::string, std::string>> params;
  std::string device = "cpu";   // "gpu": timed with CUDA events
  bool dense_baseline = false;  // a dense row pruned rows of the same problem are judged against
  bool library_peer = false;    // the library a user would pick instead (registry: KernelInfo::library_peer)

  RowSpec(std::string family_, const std::string& kernel_id);  // "openmp/csr" -> backend openmp, variant csr
  RowSpec& p(const std::string& key, const std::string& value);
  RowSpec& p(const std::string& key, long long value);
  RowSpec& on_gpu() { device = "gpu"; return *this; }
  RowSpec& dense(bool is_baseline = true) { dense_baseline = is_baseline; return *this; }
  RowSpec& peer(bool is_peer = true) { library_peer = is_peer; return *this; }

  std::string name() const;  // family/backend[/variant]/key:value/...
  // {"family", "backend", "variant", "device", "dtype", "dense_baseline", "library_peer", "params": {key: value}};
  // dtype is the
  // row's dtype parameter, else f32 (every CPU GEMM, SpMM and convolution computes in FP32).
  nlohmann::ordered_json meta() const;
};

// The rows registered so far, keyed by name (register_row records each).
const std::vector<std::pair<std::string, nlohmann::ordered_json>>& registered_rows();
// The registered row (name, description) a Google Benchmark run name stands for (the name without the /real_time or
// /manual_time that Google Benchmark appends), or null.
const std::pair<std::string, nlohmann::ordered_json>* registered_row(const std::string& run_name);
// A run name without the /real_time or /manual_time Google Benchmark appends: the row's registered name.
std::string row_name_of(const std::string& run_name);

}  // namespace pb::bench
