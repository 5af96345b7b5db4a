// conv/openmp/sparse_auto: which of our sparse convolutions is the faster moves with the layer, the sparsity and the
// thread count. On the Zen 4 guest (AVX-512, 1 and 2 threads, medians of 3 interleaved repetitions) the direct kernel
// took 0.59-0.78x the im2col route's time at 90% on the 3x3 layers, but 1.06-1.12x at 50% on C128@28 (magnitude,
// block1x4, 2:4) and on one thread at C512@7, and the two tie on 1x1 layers (0.92-1.02x). Like openmp/csr_auto for the
// SpMM, this kernel times the candidates on the call's own operands at set-up (pb::fastest_by_trials) and from then on
// runs the faster; the trials are its set-up cost (1-70 ms there), the pick is its row's label. In that run it took
// 1.00x the time of the better of the two chosen after the fact (geomean of 30 rows, 0.85-1.13x).
#include <memory>
#include <string>
#include <vector>

#include "prunebench/conv.h"
#include "prunebench/pick.h"

namespace pb {

namespace {

struct ConvPick {
  ConvFn fn = nullptr;
  std::shared_ptr<SparseWeights> weights;  // the pick's own copy of the filters, holding its prepared form
};

std::shared_ptr<ConvPick> pick_fastest(const ConvArgs& a, std::string& chosen) {
  // The candidates: every conv kernel that reads CSR filters alone, but this one, each on its own copy of the weights
  // (one prepared form per set of weights, and the candidates' differ).
  std::vector<std::string> names;
  std::vector<ConvPick> picks;
  for (const auto& k : conv_kernels())
    if (k.info.formats == std::vector<std::string>{"csr"} && k.run != conv_openmp_sparse_auto) {
      names.push_back(k.info.variant);
      picks.push_back({k.run, std::make_shared<SparseWeights>(*a.wsp)});
    }
  std::vector<std::function<void()>> runs;
  for (const ConvPick& p : picks)
    runs.push_back([&a, &p] {
      ConvArgs b = a;
      b.wsp = p.weights.get();
      p.fn(b);
    });
  bool shared = false;
  const std::size_t win = fastest_by_trials(runs, 3, a.threads, &shared);
  chosen = names.at(win) + (shared ? " (threads sharing a core)" : "");
  return std::make_shared<ConvPick>(picks[win]);
}

}  // namespace

void conv_openmp_sparse_auto(const ConvArgs& a) {
  const ConvShape& s = a.s;
  const std::string key = "conv_auto/" + std::to_string(s.N) + "x" + std::to_string(s.C) + "x" + std::to_string(s.H) +
                          "x" + std::to_string(s.W) + "/K:" + std::to_string(s.K) + "/" + std::to_string(s.R) + "x" +
                          std::to_string(s.S) + "/stride:" + std::to_string(s.stride) + "/pad:" +
                          std::to_string(s.pad) + "/threads:" + std::to_string(a.threads);
  const auto& pick = *static_cast<const ConvPick*>(
      a.wsp->prepared.get(key, [&] { return pick_fastest(a, a.wsp->prepared.chosen); }));
  ConvArgs b = a;
  b.wsp = pick.weights.get();
  pick.fn(b);
}

}  // namespace pb
