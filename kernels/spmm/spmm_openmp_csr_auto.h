// csr_auto: no one CSR kernel of the other files is the fastest everywhere (on the DLMC sample at N = 512, AVX-512, the
// fastest of ours was csr_l1 on most layers, csr_rt6 where rows share columns, csr or csr_wide on small K at 95%), and
// which one wins moves with the machine, N and the thread count. A user cannot pick from the table after the fact;
// this kernel picks at set-up (pb::fastest_by_trials: each candidate timed on the call's own operands, round robin)
// and from then on runs that one. The trials and the candidates' own set-ups are its set-up cost (setup_ms, with the
// calls it takes to pay back); the pick is the row's label. Per N and thread count.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prunebench/pick.h"
#include "prunebench/spmm.h"
#include "spmm_openmp_csr.h"
#include "spmm_openmp_csr_l1.h"
#include "spmm_openmp_csr_rt.h"
#include "spmm_openmp_csr_stream.h"

namespace {

using pb::index_t;

template <class T>
void spmm_csr_auto(const pb::SpmmArgs& g);

struct AutoPick {
  pb::SpmmFn fn = nullptr;
  std::shared_ptr<pb::SparseWeights> weights;  // the pick's own copy, holding its prepared form
};

template <class T>
std::vector<pb::Kernel<pb::SpmmFn>> openmp_spmm_table();  // spmm_openmp_impl.h

template <class T>
std::shared_ptr<AutoPick> pick_fastest_csr(const pb::SpmmArgs& g, std::string& chosen) {
  // The candidates: every kernel of the table that reads CSR alone, but this one (a new CSR variant joins by itself),
  // each on a copy of the weights: one prepared form per set of weights, and the candidates' differ.
  std::vector<std::string> names;
  std::vector<AutoPick> picks;
  std::vector<std::function<void()>> runs;
  for (const auto& k : openmp_spmm_table<T>())
    if (k.info.formats == std::vector<std::string>{"csr"} && k.run != spmm_csr_auto<T>) {
      names.push_back(k.info.variant);
      picks.push_back({k.run, std::make_shared<pb::SparseWeights>(*g.W)});
    }
  for (const AutoPick& p : picks)
    runs.push_back([&g, &p] {
      pb::SpmmArgs a = g;
      a.W = p.weights.get();
      p.fn(a);
    });
  bool shared = false;
  const std::size_t win = pb::fastest_by_trials(runs, 3, g.threads, &shared);
  chosen = names[win] + (shared ? " (threads sharing a core)" : "");
  return std::make_shared<AutoPick>(picks[win]);
}

template <class T>
void spmm_csr_auto(const pb::SpmmArgs& g) {
  const pb::SparseWeights& W = *g.W;
  if (W.csr.rows == 0 || g.N == 0) return;
  if (g.N == 1) {
    // A matrix-vector product: every candidate runs csr's dot products (row_scalar), some after a set-up of their
    // own (DLMC final_dense at 70%: 44 ms of trials and row tiles, 2400 calls to pay back). Nothing to pick.
    W.prepared.get("auto/N:1", [&] {
      W.prepared.chosen = "csr";
      return std::shared_ptr<void>();
    });
    return spmm_csr<T>(g);
  }
  const std::string key = "auto/N:" + std::to_string(g.N) + "/threads:" + std::to_string(g.threads);
  const AutoPick& pick =
      *static_cast<const AutoPick*>(W.prepared.get(key, [&] { return pick_fastest_csr<T>(g, W.prepared.chosen); }));
  pb::SpmmArgs a = g;
  a.W = pick.weights.get();
  pick.fn(a);
}

}  // namespace
