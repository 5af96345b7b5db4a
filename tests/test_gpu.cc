// CUDA backends against the float64 oracle. Without a visible GPU (or without CUDA at build time) every test
// skips with the reason; on a GPU machine (scripts/gpu-check) they run.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <set>

#include "prunebench/gpu.h"
#include "prunebench/precision.h"
#include "prunebench/prune.h"
#include "prunebench/reference.h"

namespace {

using pb::index_t;

#define PB_NEED_GPU()                                                  \
  do {                                                                 \
    const std::string why = pb::gpu::why_unavailable();                \
    if (!why.empty()) GTEST_SKIP() << "GPU tests skipped: " << why;    \
  } while (0)

double gemm_err(const std::vector<float>& got, index_t M, index_t N, index_t K, const std::vector<float>& A,
                const std::vector<float>& B) {
  std::vector<index_t> rows(static_cast<std::size_t>(M));
  for (index_t i = 0; i < M; ++i) rows[i] = i;
  std::vector<double> ref(static_cast<std::size_t>(M * N));
  pb::ref::gemm_rows(N, K, A.data(), K, B.data(), N, rows, ref.data());
  return pb::ref::max_rel_err(got.data(), N, ref.data(), M, N);
}

TEST(Gpu, GemmVariants) {
  PB_NEED_GPU();
  // 1, primes, non-multiples of every tile (128 x 128 x 8) and of 4 (the scalar staging path), multiples of both
  // (the 16-byte path, more than one tile each way), and empty dimensions.
  for (auto [M, N, K] : {std::tuple<index_t, index_t, index_t>{1, 1, 1}, {7, 13, 17}, {129, 257, 65}, {256, 128, 300},
                         {131, 260, 36}, {384, 256, 1024}, {80, 48, 176}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}}) {
    std::vector<float> A(M * K), B(K * N), C(M * N);
    pb::fill_random(A, 1), pb::fill_random(B, 2);
    for (const auto& k : pb::gpu::gpu_kernels()) {  // every GEMM the registry lists
      if (k.info.op != "gemm") continue;
      if (M * N == 0 && k.info.backend != "cuda") continue;  // our guard, not cuBLAS, is under test
      // 8-bit tensor-core GEMMs take dimensions in multiples of 16 only (cuBLASLt's rule for INT8 and FP8).
      const std::string dt = k.computes_in();
      if ((dt == "i8" || dt == "e4m3") && (M % 16 || N % 16 || K % 16)) continue;
      if (!k.info.available()) continue;  // FP8 before compute capability 8.9
      SCOPED_TRACE(k.factory + " " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K));
      auto op = pb::gpu::make_gemm(k.factory, M, N, K, A.data(), B.data());
      op->run();
      op->download(C.data());
      if (M * N > 0) {
        EXPECT_LE(gemm_err(C, M, N, K, A, B), pb::precision_tolerance(dt, K));
      }
      EXPECT_GT(op->time_ms(2), 0.0);
    }
  }
}

// Library rows name what the library chose (the row's label); our own kernels are their own choice.
TEST(Gpu, LibrariesSayWhatTheyChose) {
  PB_NEED_GPU();
  const index_t M = 256, N = 128, K = 192;
  std::vector<float> A(M * K), B(K * N);
  pb::fill_random(A, 1), pb::fill_random(B, 2);
  EXPECT_EQ(pb::gpu::make_gemm("tiled", M, N, K, A.data(), B.data())->chosen(), "");
  EXPECT_NE(pb::gpu::make_gemm("cublas_tf32", M, N, K, A.data(), B.data())->chosen().find("TF32"), std::string::npos);
  const std::string lt = pb::gpu::make_gemm("cublaslt_bf16", M, N, K, A.data(), B.data())->chosen();
  EXPECT_EQ(lt.rfind("cublasLt bf16 ", 0), 0u) << lt;
  EXPECT_NE(lt.find(" algo:"), std::string::npos) << lt;
  EXPECT_EQ(lt.find("algo:?"), std::string::npos) << lt;
  const pb::Csr csr = pb::csr_from_dense(A, M, K);
  EXPECT_NE(pb::gpu::make_spmm("cusparse_csr", csr, N, B.data())->chosen().find("cusparseSpMM"), std::string::npos);
  pb::ConvShape s;
  s.N = 1, s.C = 8, s.H = 12, s.W = 12, s.K = 8, s.R = 3, s.S = 3, s.stride = 1, s.pad = 1;
  std::vector<float> x(s.N * s.C * s.H * s.W), w(s.K * s.C * s.R * s.S);
  pb::fill_random(x, 3), pb::fill_random(w, 4);
  try {
    const std::string c = pb::gpu::make_conv("cudnn", s, x.data(), w.data())->chosen();
    EXPECT_NE(c.find("cudnn fwd "), std::string::npos) << c;
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cuDNN: " << e.what();  // a build without cuDNN
  }
}

TEST(Gpu, SpmmVariants) {
  PB_NEED_GPU();
  const index_t M = 64, K = 96;
  for (index_t N : {1, 5, 128, 130}) {
    std::vector<float> w(M * K), B(K * N), C(M * N);
    pb::fill_random(w, 3), pb::fill_random(B, 4);
    pb::apply_mask(w, pb::mask_blocks(w, M, K, 8, 8, 0.8));
    const pb::Csr csr = pb::csr_from_dense(w, M, K);
    for (const auto& k : pb::gpu::gpu_kernels()) {  // every SpMM the registry lists; an 8x8 block pattern serves all
      if (k.info.op != "spmm" || !k.info.serves("block8x8")) continue;
      SCOPED_TRACE(k.factory + " N=" + std::to_string(N));
      auto op = pb::gpu::make_spmm(k.factory, csr, N, B.data(), 8);
      op->run();
      op->download(C.data());
      // Tensor-core kernels: their precision's tolerance (FP32 Blocked-ELL as TF32: measured 2e-4 to 3e-4 on an H200).
      EXPECT_LE(gemm_err(C, M, N, K, w, B), pb::precision_tolerance(k.computes_in(), K));
    }
  }
}

// Our kernels on shapes that cross every tile edge (128 rows, 128 columns, 64-deep K chunks), rows with more than
// a warp's 32 non-zeros inside one chunk (dense rows), K split across blocks, empty rows, and empty dimensions.
TEST(Gpu, SpmmOwnKernelsOddShapes) {
  PB_NEED_GPU();
  for (auto [M, N, K, sp] : {std::tuple<index_t, index_t, index_t, double>{1, 1, 1, 0.0}, {67, 131, 197, 0.9},
                             {130, 256, 1000, 0.5}, {40, 132, 300, 0.0}, {200, 36, 130, 0.99}, {0, 8, 8, 0.5}, {9, 0, 8, 0.5}, {9, 8, 0, 0.5}}) {
    std::vector<float> w(M * K), B(K * N), C(M * N);
    pb::fill_random(w, 7), pb::fill_random(B, 8);
    if (M * K > 0) pb::apply_mask(w, pb::mask_magnitude(w, M, K, sp));
    const pb::Csr csr = pb::csr_from_dense(w, M, K);
    for (const auto& k : pb::gpu::gpu_kernels()) {  // our own SpMM kernels
      if (k.info.op != "spmm" || k.info.backend != "cuda") continue;
      SCOPED_TRACE(k.factory + " " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K));
      auto op = pb::gpu::make_spmm(k.factory, csr, N, B.data(), 0);
      op->run();
      op->download(C.data());
      if (M * N > 0) {
        EXPECT_LE(gemm_err(C, M, N, K, w, B), pb::ref::dot_tolerance(K));
      }
    }
  }
}

// csr_tiled walks each row's columns in ascending order; a CSR whose rows are stored out of order (legal, and
// what some real files hold) must still give the right product.
TEST(Gpu, SpmmTiledUnsortedColumns) {
  PB_NEED_GPU();
  const index_t M = 70, K = 150, N = 40;
  std::vector<float> w(M * K), B(K * N), C(M * N);
  pb::fill_random(w, 9), pb::fill_random(B, 10);
  pb::apply_mask(w, pb::mask_magnitude(w, M, K, 0.7));
  pb::Csr csr = pb::csr_from_dense(w, M, K);
  for (index_t i = 0; i < M; ++i) {  // reverse every row's entries
    std::reverse(csr.colidx.begin() + csr.rowptr[i], csr.colidx.begin() + csr.rowptr[i + 1]);
    std::reverse(csr.values.begin() + csr.rowptr[i], csr.values.begin() + csr.rowptr[i + 1]);
  }
  auto op = pb::gpu::make_spmm("csr_tiled", csr, N, B.data(), 0);
  op->run();
  op->download(C.data());
  EXPECT_LE(gemm_err(C, M, N, K, w, B), pb::ref::dot_tolerance(K));
}

// cuSPARSELt at every precision: our N:M pruning (2:4, 1:2 for tf32) must be the pattern its kernels take, its own
// pruning must keep the same weights, and the product must match the float64 oracle. Weight magnitudes within a
// group are distinct in every precision (k/8 for k = 1..4), so "the largest n" has one answer.
TEST(Gpu, CusparseLtMatchesOurPruningAndTheOracle) {
  PB_NEED_GPU();
  const index_t M = 128, K = 256, N = 64;
  std::vector<float> w(M * K), B(K * N), C(M * N);
  pb::fill_random(B, 12);
  std::mt19937_64 g(5);
  for (index_t i = 0; i < M * K; i += 4) {
    float q[4] = {0.125f, 0.25f, 0.375f, 0.5f};
    std::shuffle(q, q + 4, g);
    for (int t = 0; t < 4; ++t) w[i + t] = (g() & 1) ? q[t] : -q[t];
  }
  int ran = 0;
  for (const auto& k : pb::gpu::gpu_kernels()) {
    if (k.info.backend != "cusparselt") continue;
    if (!k.info.available()) {
      std::cout << k.factory << " skipped: " << k.info.why_unavailable() << "\n";
      continue;
    }
    SCOPED_TRACE(k.factory);
    const pb::PatternSpec spec = pb::parse_pattern(k.info.serves("2:4") ? "2:4" : "1:2");
    std::vector<float> pruned = w;
    pb::apply_mask(pruned, pb::mask_nm(w, M, K, spec.r, spec.c));
    const std::vector<float> theirs = pb::gpu::cusparselt_prune(k.computes_in(), w.data(), M, K);
    size_t differ = 0;
    for (size_t i = 0; i < w.size(); ++i) differ += (theirs[i] != 0.0f) != (pruned[i] != 0.0f);
    EXPECT_EQ(differ, 0u) << "cuSPARSELt keeps other weights than our " << spec.r << ":" << spec.c << " pruning";
    auto op = pb::gpu::make_spmm(k.factory, pb::csr_from_dense(pruned, M, K), N, B.data());
    op->run();
    op->download(C.data());
    EXPECT_LE(gemm_err(C, M, N, K, pruned, B), pb::precision_tolerance(k.computes_in(), K));
    EXPECT_GT(op->setup_ms(), 0.0);
    EXPECT_GT(op->weight_bytes(), 0.0);
    EXPECT_NE(op->chosen().find("alg:"), std::string::npos) << op->chosen();
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << pb::gpu::why_unavailable_cusparselt();
}

// Unstructured weights are not what sparse tensor cores take: the row must fail with the library's check rather
// than time a product of other weights.
TEST(Gpu, CusparseLtRefusesWeightsOutsideItsPattern) {
  PB_NEED_GPU();
  if (!pb::gpu::why_unavailable_cusparselt().empty()) GTEST_SKIP() << pb::gpu::why_unavailable_cusparselt();
  const index_t M = 64, K = 128, N = 32;
  std::vector<float> w(M * K), B(K * N);
  pb::fill_random(w, 1), pb::fill_random(B, 2);
  pb::apply_mask(w, pb::mask_magnitude(w, M, K, 0.3));
  EXPECT_THROW(pb::gpu::make_spmm("cusparselt_f16", pb::csr_from_dense(w, M, K), N, B.data()), std::runtime_error);
}

// nvbench-grade timing: a cold-L2 time is a time, and NVML answers (or says why not) on a GPU machine.
TEST(Gpu, ColdL2TimingAndClocks) {
  PB_NEED_GPU();
  const index_t M = 256, N = 256, K = 256;
  std::vector<float> A(M * K), B(K * N);
  pb::fill_random(A, 1), pb::fill_random(B, 2);
  auto op = pb::gpu::make_gemm("cublaslt_bf16", M, N, K, A.data(), B.data());
  const double warm = op->time_ms(20), cold = op->time_ms(20, true);
  EXPECT_GT(warm, 0.0);
  EXPECT_GT(cold, 0.0);
  std::cout << "256^3 bf16: warm " << warm * 1e3 << " us, cold " << cold * 1e3 << " us\n";
  const pb::gpu::Clocks c = pb::gpu::read_clocks(pb::gpu::device_info().pci_bus_id);
  if (c.ok) {
    EXPECT_GT(c.sm_mhz, 0u);
    EXPECT_GE(c.sm_max_mhz, c.sm_mhz);
  } else {
    EXPECT_FALSE(c.why.empty());
  }
}

TEST(Gpu, ConvVariants) {
  PB_NEED_GPU();
  for (const pb::ConvShape& s : {pb::ConvShape{1, 3, 9, 9, 4, 3, 3, 1, 1}, pb::ConvShape{2, 5, 11, 7, 6, 3, 3, 2, 1},
                                pb::ConvShape{1, 8, 10, 10, 16, 1, 1, 1, 0}}) {
    std::vector<float> x(s.N * s.C * s.H * s.W), w(s.K * s.C * s.R * s.S), y(s.N * s.K * s.OH() * s.OW());
    pb::fill_random(x, 5), pb::fill_random(w, 6);
    std::vector<double> ref(y.size());
    pb::ref::conv(s, x.data(), w.data(), 0, s.K, ref.data());
    for (const auto& k : pb::gpu::gpu_kernels()) {
      if (k.info.op != "conv") continue;
      auto op = pb::gpu::make_conv(k.factory, s, x.data(), w.data());
      op->run();
      op->download(y.data());
      EXPECT_LE(pb::ref::max_rel_err(y.data(), index_t(y.size()), ref.data(), 1, index_t(y.size())), 1e-4) << k.factory;
    }
  }
}

TEST(Gpu, Ceilings) {
  PB_NEED_GPU();
  EXPECT_GT(pb::gpu::copy_bandwidth(1 << 24, "d2d", 3), 1e9);
  EXPECT_GT(pb::gpu::launch_latency_us(false, 100), 0.0);
  EXPECT_GT(pb::gpu::fma_peak_flops(2), 1e11);
  EXPECT_GT(pb::gpu::chase_ns_per_load(1 << 16), 0.0);
}

// The GPU table lists every factory variant once, and each one the factories accept (also without a GPU: the
// names are the registry's, the factories' own checks run only on a device).
TEST(Gpu, RegistryListsEveryKernelOnce) {
  std::set<std::string> seen;
  for (const auto& k : pb::gpu::gpu_kernels()) {
    EXPECT_TRUE(seen.insert(k.info.op + ":" + k.factory).second) << k.factory;
    EXPECT_FALSE(k.info.backend.empty());
  }
  EXPECT_EQ(seen.size(), 24u);
}

// Every GPU kernel computes in a precision the table knows, and its dense baselines exist: for each precision a
// sparse kernel computes in, every precision it accepts has a dense library GEMM (what the analysis judges it by).
TEST(Gpu, EveryPrecisionHasItsDenseBaselines) {
  std::set<std::string> dense;
  for (const auto& k : pb::gpu::gpu_kernels())
    if (k.info.op == "gemm" && k.info.dense_baseline && k.info.backend != "cuda") dense.insert(k.computes_in());
  for (const auto& k : pb::gpu::gpu_kernels()) {
    const pb::Precision& p = pb::precision(k.computes_in());  // throws on an unknown dtype
    if (k.info.op != "spmm") continue;
    for (const auto& d : p.accepts) EXPECT_TRUE(dense.count(d)) << k.factory << " has no dense " << d << " baseline";
  }
}

TEST(Gpu, ReportsWhyWhenAbsent) {
  // Always runs: the reason is empty exactly when the other GPU tests run.
  const std::string why = pb::gpu::why_unavailable();
  if (!why.empty()) {
    EXPECT_EQ(why.find('\n'), std::string::npos);
  }
  EXPECT_THROW(pb::gpu::make_gemm("nonsense", 1, 1, 1, nullptr, nullptr), std::exception);
}

}  // namespace
