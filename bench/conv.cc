// Convolution family: conv/<backend>/<algo>/N:/C:/H:/W:/K:/R:/S:/stride:/pad:/sparsity:/threads:
//
// algo: direct, im2col (dense ladder: naive, eigen, openmp, onednn); sparse_direct, sparse_im2col (CSR filters:
// any unstructured pattern), bsr_im2col (blocks along C*R*S), nm_im2col (N:M along C*R*S). Structured pruning
// (pattern:filters or pattern:channels: output filters or input channels removed) runs the smaller dense
// convolution with every dense kernel that takes it (openmp/im2col, openmp/direct, onednn/direct): the name keeps
// the kernel and the original layer, sparsity says how much was pruned. Pruned rows add /pattern:P after
// sparsity, as spmm rows do. Counters as spmm: flops useful (2 per multiply-add of a non-zero weight whose
// input tap lies inside the image: padding taps are not counted; for structured rows those of the smaller layer),
// dense_flops the layer's nominal 2*N*K*OH*OW*C*R*S, padding taps included.
// Cache state: warm, as gemm. Verification: every output channel and position against the float64 direct
// convolution of the pruned filters (all images while the oracle fits its budget, bench_util.h).
#include <map>
#include <memory>
#include <stdexcept>

#include "bench_util.h"
#include "prunebench/conv.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"
#include "prunebench/spmm.h"

namespace pb::bench {

namespace {

struct Layer {
  ConvShape s;
  std::string pattern;
  double sparsity = 0.0;
  AlignedBuffer<float> x;       // input, N x C x H x W
  std::vector<float> w;         // pruned filters, K x C x R x S
  SparseWeights sw;             // the same as CSR, K x CRS
  ConvShape small;              // structured: the smaller layer
  std::vector<index_t> kept;    // structured: kept filters or channels
  std::vector<float> x_small;   // channels: the input of the kept channels only
  std::vector<float> w_small;
  index_t nnz = 0;
  std::vector<double> ref;      // the float64 oracle of the pruned layer, N x K x OH x OW (filled on first use)
};

std::string key_of(const ConvShape& s, const std::string& pattern, double sp) {
  char b[200];
  std::snprintf(b, sizeof b, "%ld/%ld/%ld/%ld/%ld/%ld/%ld/%ld/%ld/%s/%.4f", long(s.N), long(s.C), long(s.H), long(s.W),
                long(s.K), long(s.R), long(s.S), long(s.stride), long(s.pad), pattern.c_str(), sp);
  return b;
}

std::shared_ptr<Layer> layer_for(const ConvShape& s, const std::string& pattern, double sp) {
  static std::string last_key;
  static std::shared_ptr<Layer> last;
  const std::string key = key_of(s, pattern, sp);
  if (last && last_key == key) return last;
  last.reset();
  auto L = std::make_shared<Layer>();
  L->s = s, L->pattern = pattern, L->sparsity = sp;
  const index_t CRS = s.C * s.R * s.S;
  L->x = AlignedBuffer<float>(static_cast<std::size_t>(s.N * s.C * s.H * s.W), kPageAligned);
  fill_random(L->x.span(), 5000 + static_cast<std::uint64_t>(s.C * 7 + s.H));
  L->w.resize(static_cast<std::size_t>(s.K * CRS));
  fill_random(L->w, 6000 + static_cast<std::uint64_t>(s.K * 13 + CRS));
  if (sp > 0) {
    Mask m;
    // Filters are rows of the K x CRS filter matrix; channels are groups of R*S columns (kernels/prune).
    if (pattern == "filters") {
      m = mask_rows(L->w, s.K, CRS, sp);
    } else if (pattern == "channels") {
      m = mask_conv_channels(L->w, s.K, s.C, s.R * s.S, sp);
    } else {  // magnitude, or blocks / N:M along C*R*S
      m = make_mask(parse_pattern(pattern), L->w, s.K, CRS, sp, 17);
    }
    apply_mask(L->w, m);
    if (pattern == "filters" || pattern == "channels") {
      Compact c = pattern == "filters" ? compact_rows(L->w, m, s.K, CRS)
                                       : compact_conv_channels(L->w, m, s.K, s.C, s.R * s.S);
      L->kept = std::move(c.kept);
      L->w_small = std::move(c.w);
      L->small = s;
      (pattern == "filters" ? L->small.K : L->small.C) = static_cast<index_t>(L->kept.size());
      if (pattern == "channels") L->x_small = gather_channels(L->x.data(), s.N, s.C, s.H * s.W, L->kept);
    }
  }
  L->sw.M = s.K, L->sw.K = CRS;
  L->sw.csr = csr_from_dense(L->w, s.K, CRS);
  if (sp > 0 && pattern != "filters" && pattern != "channels") {
    const PatternSpec spec = parse_pattern(pattern);
    if (spec.kind == PatternSpec::block) L->sw.bsr = bsr_from_dense(L->w, s.K, CRS, spec.r, spec.c);
    if (spec.kind == PatternSpec::nm) L->sw.nm = nm_from_dense(L->w, s.K, CRS, spec.r, spec.c);
  }
  L->nnz = L->sw.csr.nnz();
  last_key = key;
  last = L;
  return L;
}

void run_conv(benchmark::State& st, const Kernel<ConvFn>& k, const ConvShape& s, const std::string& pattern,
              double sp, int threads) {
  if (skip_if_unavailable(st, k.info.id(), k.info.why_unavailable())) return;
  std::shared_ptr<Layer> L;
  try {
    L = layer_for(s, pattern, sp);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    return;
  }
  const bool structured = sp > 0 && (pattern == "filters" || pattern == "channels");
  const ConvShape run_s = structured ? L->small : s;
  const float* x = structured && pattern == "channels" ? L->x_small.data() : L->x.data();
  const float* w = structured ? L->w_small.data() : L->w.data();
  const index_t OHW = s.OH() * s.OW();
  AlignedBuffer<float> y(static_cast<std::size_t>(std::max<index_t>(1, run_s.N * run_s.K * OHW)), kPageAligned);
  ConvArgs a{run_s, x, w, &L->sw, y.data(), threads, true};
  L->sw.prepared = PreparedForm{};  // a kernel's own form of the weights is made (and its cost counted) by this row
  k.run(a);
  const double setup_s = L->sw.prepared.setup_seconds;
  if (!L->sw.prepared.chosen.empty()) st.SetLabel(L->sw.prepared.chosen);  // what a kernel that picks at set-up picked
  // Verify every output channel and position (of the images check_images picks) against the float64 oracle of
  // the pruned layer, computed once per layer: channel j of the run layer is channel kept[j] (filters) or j of
  // the pruned original.
  const auto images = check_images(s.N, double(s.K * OHW) * double(s.C * s.R * s.S));
  if (L->ref.empty()) {
    ConvShape one = s;
    one.N = 1;
    L->ref.resize(static_cast<std::size_t>(s.N * s.K * OHW));
    for (index_t n : images)
      ref::conv(one, L->x.data() + n * s.C * s.H * s.W, L->w.data(), 0, s.K, L->ref.data() + n * s.K * OHW);
  }
  double err = 0.0;
  for (index_t n : images)
    for (index_t j = 0; j < run_s.K; ++j) {
      const index_t orig = structured && pattern == "filters" ? L->kept[j] : j;
      err = std::max(err, ref::max_rel_err(y.data() + (n * run_s.K + j) * OHW, OHW, L->ref.data() + (n * s.K + orig) * OHW, 1, OHW));
    }
  if (skip_if_wrong(st, err, ref::dot_tolerance(s.C * s.R * s.S))) return;
  // A library picks its own algorithm: the row says which one it timed (oneDNN's implementation name).
  if (k.info.backend == "onednn") st.SetLabel(conv_onednn_impl(a));
  a.output_needed = false;
  for (auto _ : st) {
    k.run(a);
    benchmark::ClobberMemory();
  }
  // flops: useful multiply-adds only (taps over the zero padding excluded; oneDNN skips them); dense_flops: the
  // layer's nominal count, padding included, the same for every row of a layer.
  const double dense = s.flops();
  const double useful = structured ? conv_useful_flops(run_s) : sp > 0 ? conv_useful_flops(s, L->sw.csr) : conv_useful_flops(s);
  const std::string& fmt = k.info.formats.at(0);
  double wbytes = 4.0 * run_s.K * run_s.C * s.R * s.S;  // dense filters
  if (fmt == "csr") wbytes = 8.0 * L->nnz + 4.0 * (s.K + 1);
  if (fmt == "bsr") wbytes = 4.0 * L->sw.bsr.values.size() + 4.0 * L->sw.bsr.blocks() + 4.0 * L->sw.bsr.rowptr.size();
  if (fmt == "nm") wbytes = 5.0 * L->sw.nm.values.size();
  const double bytes = 4.0 * (run_s.N * run_s.C * s.H * s.W + run_s.N * run_s.K * OHW) + wbytes;
  set_sparse_counters(st, useful, dense, bytes, err, L->sparsity > 0 ? 1.0 - double(L->nnz) / (s.K * s.C * s.R * s.S) : 0.0,
                      static_cast<double>(L->nnz));
  if (setup_s > 0) st.counters["setup_ms"] = setup_s * 1e3;  // once per weights, outside the timed calls
}

// Pruned rows (sparsity > 0) also name their pattern, as spmm rows do: two patterns at one sparsity must not
// collide. Dense rows keep exactly the keys of the example in docs/design.md.
// The unpruned layer (sparsity 0) is the dense baseline of its pruned rows.
RowSpec conv_spec(const std::string& id, const ConvShape& s, double sp, const std::string& pattern, int t) {
  RowSpec r("conv", id);
  r.p("N", s.N).p("C", s.C).p("H", s.H).p("W", s.W).p("K", s.K).p("R", s.R).p("S", s.S).p("stride", s.stride);
  r.p("pad", s.pad).p("sparsity", sparsity_str(sp));
  if (sp > 0) r.p("pattern", pattern);
  return r.p("threads", t).dense(sp == 0);
}

}  // namespace

void register_conv(const Config& c) {
  // name -> the kernel whose row it is. The dense layer comes once per pattern of a sweep (sparsity 0) and is
  // registered once; the same name from another kernel is a naming bug, not a duplicate to drop.
  std::map<std::string, std::string> done;
  for (const ConvEntry& e : c.conv) {
    const ConvShape& s = e.shape;
    for (double sp0 : e.sparsity) {
      for (const auto& pattern : e.patterns) {
        const bool structured = pattern == "filters" || pattern == "channels";
        const PatternSpec spec = structured ? PatternSpec{PatternSpec::rows} : parse_pattern(pattern);
        // N:M fixes its own sparsity (1 - n/m); only the dense point of the sweep still applies to it.
        const double sp = spec.kind == PatternSpec::nm && sp0 > 0 ? 1.0 - double(spec.r) / spec.c : sp0;
        for (int t : c.threads) {
          auto add = [&](const Kernel<ConvFn>& k) {
            const RowSpec row = conv_spec(k.info.id(), s, sp, pattern, t).peer(k.info.library_peer);
            const auto [at, fresh] = done.emplace(row.name(), k.info.id());
            if (!fresh && at->second != k.info.id())
              throw std::logic_error("conv row " + row.name() + " named by both " + at->second + " and " + k.info.id());
            if (!fresh) return;
            register_row(c, row, [&k, s, pattern, sp, t](benchmark::State& st) { run_conv(st, k, s, pattern, sp, t); });
          };
          // Sparsity 0 is the dense ladder; a structured pattern runs the smaller dense layer with each dense
          // kernel that takes it; any other pattern goes to the sparse kernels that serve it. Each row keeps its
          // kernel's variant: named after the pattern instead, openmp's two dense kernels made one name, and
          // only the first (im2col) ran.
          const std::string served = sp == 0.0 ? "dense" : pattern;
          for (const auto& k : conv_kernels()) {
            if (!k.info.serves(served)) continue;
            if (k.info.backend == "naive" && (t != 1 || 1e-9 * s.flops() > c.naive_max_gflop)) continue;
            add(k);
          }
        }
      }
    }
  }
}

}  // namespace pb::bench
