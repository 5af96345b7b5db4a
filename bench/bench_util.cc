#include "bench_util.h"

#include "guard_reporter.h"
#include "prunebench/reference.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <regex>
#include <vector>

namespace pb::bench {

namespace {
std::vector<std::string>& registered_names() {
  static std::vector<std::string> names;
  return names;
}
std::vector<std::pair<std::string, nlohmann::ordered_json>>& rows() {
  static std::vector<std::pair<std::string, nlohmann::ordered_json>> r;
  return r;
}
}  // namespace

const std::vector<std::pair<std::string, nlohmann::ordered_json>>& registered_rows() { return rows(); }

std::string row_name_of(const std::string& run_name) {
  std::string n = run_name;
  for (const std::string suffix : {"/real_time", "/manual_time"})
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), std::string::npos, suffix) == 0)
      n.resize(n.size() - suffix.size());
  return n;
}

const std::pair<std::string, nlohmann::ordered_json>* registered_row(const std::string& run_name) {
  const std::string n = row_name_of(run_name);
  for (const auto& row : rows())
    if (row.first == n) return &row;
  return nullptr;
}

benchmark::internal::Benchmark* register_row(const Config&, const RowSpec& row,
                                             std::function<void(benchmark::State&)> fn) {
  const std::string name = row.name();
  const bool manual_time = row.device == "gpu";
  registered_names().push_back(name);
  rows().emplace_back(name, row.meta());
  // Every call tells the guard first, which runs its canary there when the call before ended a repetition.
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [fn = std::move(fn), name](benchmark::State& st) {
    if (st.thread_index() == 0) invocation_starts(name, st.max_iterations);
    fn(st);
  });
  b->Unit(benchmark::kMicrosecond);
  if (manual_time) {
    b->UseManualTime();
  } else {
    b->UseRealTime();
  }
  // min_time and repetitions reach Google Benchmark as flags (see main.cc): set per row, they would be appended
  // to every name ("/min_time:0.100/repeats:5") and break the naming contract.
  return b;
}

std::size_t count_matching(const std::string& filter) {
  if (filter.empty() || filter == "all" || filter == ".") return registered_names().size();
  const bool negate = filter[0] == '-';
  std::size_t n = 0;
  try {
    const std::regex re(negate ? filter.substr(1) : filter);
    for (const auto& name : registered_names())
      if (std::regex_search(name + "/real_time", re) != negate || std::regex_search(name + "/manual_time", re) != negate) ++n;
  } catch (const std::regex_error&) {
    return registered_names().size();  // Google Benchmark reports the bad regex itself
  }
  return n;
}

double conv_error(const ConvShape& s, const float* x, const float* w, const float* y) {
  const index_t OHW = s.OH() * s.OW(), img_in = s.C * s.H * s.W, img_out = s.K * OHW;
  ConvShape one = s;
  one.N = 1;
  double err = 0.0;
  std::vector<double> ref(static_cast<std::size_t>(img_out));
  for (index_t n : check_images(s.N, double(img_out) * double(s.C * s.R * s.S))) {
    ref::conv(one, x + n * img_in, w, 0, s.K, ref.data());
    for (index_t k = 0; k < s.K; ++k)
      err = std::max(err, ref::max_rel_err(y + n * img_out + k * OHW, OHW, ref.data() + k * OHW, 1, OHW));
  }
  return err;
}

double verify_rows(const float* C, index_t N, index_t K, const float* A, index_t lda, const float* B,
                   const std::vector<index_t>& out_rows, const std::vector<index_t>& a_rows) {
  std::vector<double> ref(a_rows.size() * static_cast<std::size_t>(N));
  ref::gemm_rows(N, K, A, lda, B, N, a_rows, ref.data());
  std::vector<float> got;
  got.reserve(ref.size());
  for (index_t r : out_rows) got.insert(got.end(), C + r * N, C + (r + 1) * N);
  return ref::max_rel_err(got.data(), N, ref.data(), static_cast<index_t>(out_rows.size()), N);
}

bool skip_if_unavailable(benchmark::State& st, const std::string& id, const std::string& why) {
  if (why.empty()) return false;
  st.SkipWithError((id + " unsupported: " + why).c_str());
  return true;
}

bool skip_if_wrong(benchmark::State& st, double max_rel_err, double tolerance) {
  if (max_rel_err <= tolerance) return false;  // NaN fails here too
  char msg[160];
  std::snprintf(msg, sizeof msg, "verification failed: max_rel_err=%.3g exceeds tolerance %.3g", max_rel_err,
                tolerance);
  st.SkipWithError(msg);
  return true;
}

void set_dense_counters(benchmark::State& st, double flop_per_iter, double bytes_per_iter, double max_rel_err) {
  using C = benchmark::Counter;
  st.counters["flops"] = C(flop_per_iter, C::kIsIterationInvariantRate);
  st.counters["bytes_per_second"] = C(bytes_per_iter, C::kIsIterationInvariantRate);
  st.counters["ai"] = C(bytes_per_iter > 0 ? flop_per_iter / bytes_per_iter : 0.0);
  st.counters["max_rel_err"] = C(max_rel_err);
}

void set_sparse_counters(benchmark::State& st, double flop_per_iter, double dense_flop_per_iter,
                         double bytes_per_iter, double max_rel_err, double sparsity, double nnz) {
  using C = benchmark::Counter;
  set_dense_counters(st, flop_per_iter, bytes_per_iter, max_rel_err);
  st.counters["dense_flops"] = C(dense_flop_per_iter, C::kIsIterationInvariantRate);
  st.counters["sparsity"] = C(sparsity);
  st.counters["nnz"] = C(nnz);
}

std::string sparsity_str(double s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", s);
  return buf;
}

}  // namespace pb::bench
