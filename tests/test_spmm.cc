// Every registered SpMM kernel against the float64 oracle (the masked dense weights times B), on every pattern
// it serves, shapes with edge tiles and empty rows, real DLMC patterns, and 1-3 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "prunebench/emu512.h"
#include "prunebench/io.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"
#include "prunebench/spmm.h"

namespace {

using pb::index_t;

struct Problem {
  std::string label;
  pb::SparseWeights W;
  std::vector<float> dense;  // masked weights, M x K
};

Problem make(index_t M, index_t K, const std::string& pattern, double s) {
  Problem p;
  p.label = std::to_string(M) + "x" + std::to_string(K) + " " + pattern + " " + std::to_string(s);
  p.dense.resize(static_cast<std::size_t>(M * K));
  pb::fill_random(p.dense, 100 + M + K);
  const auto spec = pb::parse_pattern(pattern);
  pb::apply_mask(p.dense, pb::make_mask(spec, p.dense, M, K, s, 5));
  p.W.M = M, p.W.K = K;
  p.W.csr = pb::csr_from_dense(p.dense, M, K);
  if (spec.kind == pb::PatternSpec::block) p.W.bsr = pb::bsr_from_dense(p.dense, M, K, spec.r, spec.c);
  else p.W.bsr = pb::bsr_from_dense(p.dense, M, K, 4, 4);
  if (spec.kind == pb::PatternSpec::nm) p.W.nm = pb::nm_from_dense(p.dense, M, K, spec.r, spec.c);
  return p;
}

// B's rows lie ldb = N + 3 floats apart (ldb_pad 3): a kernel that assumes B is packed fails. At N = 1 the
// benchmarks pass a plain vector (ldb 1), which the matrix-vector path takes separately: check() runs both.
void check_ldb(const pb::Kernel<pb::SpmmFn>& k, const Problem& p, index_t N, int threads, index_t ldb_pad) {
  SCOPED_TRACE(k.info.id() + " " + p.label + " N=" + std::to_string(N) + " threads=" + std::to_string(threads) +
               " ldb=N+" + std::to_string(ldb_pad));
  const index_t M = p.W.M, K = p.W.K, ldb = N + ldb_pad, ldc = N + 1;
  std::vector<float> B(static_cast<std::size_t>(std::max<index_t>(1, K * ldb)));
  pb::fill_random(B, 77);
  std::vector<float> C(static_cast<std::size_t>(M * ldc + 1), -999.0f);
  k.run({&p.W, N, B.data(), ldb, C.data(), ldc, threads});
  for (index_t i = 0; i < M; ++i)
    for (index_t j = N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], -999.0f) << "write into ldc padding";
  ASSERT_EQ(C.back(), -999.0f) << "write past C";
  std::vector<index_t> rows(static_cast<std::size_t>(M));
  for (index_t i = 0; i < M; ++i) rows[i] = i;
  std::vector<double> ref(static_cast<std::size_t>(M * N));
  pb::ref::gemm_rows(N, K, p.dense.data(), K, B.data(), ldb, rows, ref.data());
  EXPECT_LE(pb::ref::max_rel_err(C.data(), ldc, ref.data(), M, N), pb::ref::dot_tolerance(K));
}
void check(const pb::Kernel<pb::SpmmFn>& k, const Problem& p, index_t N, int threads) {
  check_ldb(k, p, N, threads, 3);
  if (N == 1) check_ldb(k, p, N, threads, 0);
}

// The sparse kernels (the openmp ones as dispatched: the widest ISA this CPU runs), each openmp kernel once more per
// narrower ISA, and AVX-512's on emulated vectors where this CPU has no AVX-512 (prunebench/emu512.h).
std::vector<std::pair<std::string, pb::Kernel<pb::SpmmFn>>> all_kernels() {
  std::vector<std::pair<std::string, pb::Kernel<pb::SpmmFn>>> v;
  for (const auto& k : pb::spmm_kernels()) v.push_back({"", k});
  const auto isa = pb::spmm_openmp_isa_variants();
  for (const auto& iv : isa)
    if (iv.first != isa.front().first) v.push_back(iv);
  if (pb::emu512::runs_here())
    for (const auto& k : pb::emu512::spmm_openmp_table()) v.push_back({pb::emu512::kIsa, k});
  return v;
}

TEST(Spmm, EveryKernelMatchesTheOracle) {
  const std::vector<std::tuple<index_t, index_t, std::string, double>> problems = {
      {1, 1, "magnitude", 0.0},   {7, 13, "random", 0.5},     {33, 100, "magnitude", 0.9}, {64, 64, "random", 0.98},
      {37, 50, "block4x4", 0.8},  {37, 50, "block1x4", 0.7},  {37, 50, "block4x1", 0.7},   {37, 50, "block8x8", 0.5},
      {37, 50, "block2x3", 0.6},  {30, 22, "2:4", 0.5},       {30, 22, "1:4", 0.75},       {30, 22, "4:8", 0.5},        {30, 22, "3:8", 0.625},       {50, 40, "rows", 0.5},
      {20, 30, "magnitude", 1.0}, {100, 257, "random", 0.95}, {40, 3000, "random", 0.9},  // K > one B panel
      {40, 3000, "random", 0.97},  // csr_l1: K in panels grown past L1 (few non-zeros per row and panel)
      {40, 3001, "2:4", 0.5},     {40, 1001, "3:8", 0.625},  // nm: K panels of whole groups, the last group short
      {41, 3001, "block4x4", 0.8}, {37, 1001, "block2x3", 0.6},  // bsr: panels of whole blocks, edge blocks
      {43, 3001, "block8x8", 0.8}, {37, 3001, "block4x1", 0.7},  // bsr: 8-row blocks in halves, 1- and 8-wide
  };
  for (const auto& [M, K, pattern, s] : problems) {
    const Problem p = make(M, K, pattern, s);
    for (const auto& [isa, k] : all_kernels()) {
      // Structured pruning runs as a smaller dense GEMM in the benchmarks; its mask is still a valid CSR input,
      // so the kernels that take any unstructured pattern are checked on it too.
      if (!k.info.serves(pattern == "rows" ? "magnitude" : pattern)) continue;
      SCOPED_TRACE(isa.empty() ? "dispatched" : "isa " + isa);
      // The emulated AVX-512 instance at 2 threads only: the thread splits are the same code on every ISA, and at
      // -Og this test took 211 s with its three thread counts, 161 s with 2 alone (portable build, Zen 3).
      const std::vector<int> thread_counts = isa == pb::emu512::kIsa ? std::vector<int>{2} : std::vector<int>{1, 2, 3};
      for (index_t N : {1, 5, 8, 17, 64, 130, 300})  // 300: the widest column tile (16 x 16) and every narrower one
        for (int threads : thread_counts) check(k, p, N, threads);
    }
  }
}

// Every column tiling the openmp kernels pick (for_column_tiles, the row tiles' own): N from 1 past the widest tile of
// the widest ISA (16 vectors of 16 floats), so every remainder of 1-8 vectors after the 16- and 8-vector tiles
// comes both whole and masked (1 to L - 1 lanes), on every ISA; BSR with each block height that has its own tile
// width (8 / height vectors). Small rows keep the products cheap.
TEST(Spmm, EveryColumnTileWidth) {
  for (const std::string pattern : {"random", "2:4", "block1x4", "block2x3", "block4x4", "block8x8"}) {
    const Problem p = make(13, 70, pattern, 0.5);
    for (const auto& [isa, k] : all_kernels()) {
      if (k.info.backend != "openmp" || !k.info.serves(pattern)) continue;
      SCOPED_TRACE(isa.empty() ? "dispatched" : "isa " + isa);
      // Past 2 x 16 vectors of 16 for CSR and N:M, past 8 + 2 for BSR (its widest tile: 8 vectors at height 1).
      const index_t n_max = pattern.rfind("block", 0) == 0 ? 160 : 400;
      for (index_t N = 1; N <= n_max; ++N) check(k, p, N, 2);
    }
  }
}

// Where each B row feeds many non-zeros and a K panel at full width is past half of L2 (here 4100 x 600 floats, 9.8
// MB, in three panels; 48 non-zeros per B row), our kernels copy each panel's column slice into a contiguous
// buffer first (pack_pays in spmm_openmp_slices.h): the copies' edges (B's leading dimension, ragged column tiles,
// the last short panel) and the alternating buffers with 1 and 3 threads.
TEST(Spmm, PackedColumnSlices) {
  for (const std::string pattern : {"random", "2:4"}) {
    const Problem p = make(96, 4100, pattern, 0.5);
    for (const auto& [isa, k] : all_kernels()) {
      if (k.info.backend != "openmp" || !k.info.serves(pattern)) continue;
      SCOPED_TRACE(isa.empty() ? "dispatched" : "isa " + isa);
      for (int threads : {1, 3}) check(k, p, 600, threads);
    }
  }
}

// Every sample file of the DLMC corpus (rn50 and transformer, magnitude and random pruning, 50-98%), every kernel
// that takes a real pattern, on every ISA: real layers have empty rows, long rows and shapes the generated
// patterns miss. N = 17 (a 16-wide tile plus a scalar column) keeps the float64 oracle cheap; N = 1 is the
// matrix-vector path.
TEST(Spmm, RealDlmcPatterns) {
  const auto dir = std::filesystem::path(PB_SOURCE_DIR) / ".." / "shared" / "data" / "dlmc";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "DLMC sample not found";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".smtx") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 40u);
  for (const auto& f : files) {
    Problem p;
    p.label = f.parent_path().filename().string() + "/" + f.filename().string();
    p.W.csr = pb::io::load_smtx(f.string(), 3);
    p.W.M = p.W.csr.rows, p.W.K = p.W.csr.cols;
    p.dense = pb::dense_from_csr(p.W.csr);
    for (const auto& [isa, k] : all_kernels())
      if (k.info.serves("file"))
        for (index_t N : {1, 17}) check(k, p, N, 2);
  }
}

// Which kernel serves which pattern is the registry's answer, the one benchmarks and configs use.
// csr_auto times the other CSR kernels at its set-up and keeps the fastest: the pick is one of them, named for the
// row's label, and its cost is the set-up's; a new N is a new set-up. (Its results are checked with every kernel's.)
TEST(Spmm, AutoPicksOneOfTheCsrKernelsAtSetUpAndSaysWhich) {
  const pb::Kernel<pb::SpmmFn>* k = nullptr;
  for (const auto& c : pb::spmm_kernels())
    if (c.info.id() == "openmp/csr_auto") k = &c;
  ASSERT_NE(k, nullptr);
  const Problem p = make(96, 300, "random", 0.9);
  const std::set<std::string> candidates = {"csr", "csr_wide", "csr_rt4", "csr_rt6", "csr_l1", "csr_stream"};
  for (index_t N : {64, 200}) {
    std::vector<float> B(static_cast<std::size_t>(p.W.K * N)), C(static_cast<std::size_t>(p.W.M * N));
    pb::fill_random(B, 3);
    p.W.prepared = pb::PreparedForm{};
    k->run({&p.W, N, B.data(), N, C.data(), N, 2});
    // The kernel's name, and " (threads sharing a core)" where the trials found the two threads on one core (here:
    // when the other tests ctest runs beside this one hold the other CPU).
    const std::string& chosen = p.W.prepared.chosen;
    EXPECT_EQ(candidates.count(chosen.substr(0, chosen.find(' '))), 1u) << chosen;
    EXPECT_TRUE(chosen.find(' ') == std::string::npos || chosen.substr(chosen.find(' ')) == " (threads sharing a core)")
        << chosen;
    EXPECT_GT(p.W.prepared.setup_seconds, 0);
    const std::string key = p.W.prepared.key;
    k->run({&p.W, N, B.data(), N, C.data(), N, 2});
    EXPECT_EQ(p.W.prepared.key, key);  // picked once, then reused
  }
}

TEST(Spmm, RegistrySaysWhichPatternsEachKernelServes) {
  auto serves = [](const std::string& id, const std::string& pattern) {
    for (const auto& k : pb::spmm_kernels())
      if (k.info.id() == id) return k.info.serves(pattern);
    for (const auto& r : pb::spmm_dense_routes())
      if (r.info.id() == id) return r.info.serves(pattern);
    ADD_FAILURE() << "no kernel " << id;
    return false;
  };
  for (const char* p : {"random", "magnitude", "block4x4", "block3x2", "2:4", "file"}) EXPECT_TRUE(serves("openmp/csr", p)) << p;
  EXPECT_FALSE(serves("openmp/csr", "rows"));
  EXPECT_TRUE(serves("openmp/bsr", "block8x8"));
  EXPECT_FALSE(serves("openmp/bsr", "block3x2"));  // no register-blocked code for height 3
  EXPECT_FALSE(serves("openmp/bsr", "random"));
  EXPECT_TRUE(serves("openmp/nm", "1:4"));
  EXPECT_FALSE(serves("openmp/nm", "block4x4"));
  EXPECT_TRUE(serves("openmp/masked", "random"));
  EXPECT_FALSE(serves("openmp/masked", "channels"));
  EXPECT_TRUE(serves("openblas/structured", "channels"));
  EXPECT_FALSE(serves("openmp/structured", "magnitude"));
  EXPECT_FALSE(serves("openmp/csr", "nonsense"));
  const auto ids = pb::spmm_kernel_ids();
  EXPECT_NE(std::find(ids.begin(), ids.end(), "openmp/masked"), ids.end());
  // Every ISA the host runs, generic always: every openmp kernel of the registry once per ISA.
  const auto isa = pb::spmm_openmp_isa_variants();
  std::size_t openmp = 0;
  for (const auto& k : pb::spmm_kernels()) openmp += k.info.backend == "openmp";
  EXPECT_GE(openmp, 3u);
  EXPECT_EQ(isa.size() % openmp, 0u);
  EXPECT_GE(isa.size(), openmp);
  EXPECT_EQ(isa.back().first, "generic");
}

TEST(Spmm, BalanceRowsSplitsWorkNotRows) {
  // One heavy row then many light ones: a row split would give thread 0 nearly everything.
  std::vector<std::int32_t> rowptr = {0, 1000};
  for (int i = 0; i < 1000; ++i) rowptr.push_back(rowptr.back() + 1);
  const auto b = pb::balance_rows(rowptr, 2);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.front(), 0);
  EXPECT_EQ(b.back(), 1001);
  // Work = nnz + 1 per row = 3001; half is 1500.5: the heavy row (1001) plus ~250 light rows (2 each).
  auto work = [&](index_t i) { return rowptr[i] + i; };
  EXPECT_NEAR(work(b[1]), 1500.5, 2.0);
  const auto one = pb::balance_rows(rowptr, 1);
  EXPECT_EQ(one, (std::vector<index_t>{0, 1001}));
  const auto empty = pb::balance_rows({0}, 3);
  EXPECT_EQ(empty, (std::vector<index_t>{0, 0, 0, 0}));
}

}  // namespace
