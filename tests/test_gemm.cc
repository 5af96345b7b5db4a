// Every registered GEMM backend (and every ISA path of ours this CPU runs) against the float64 oracle, on shapes
// chosen to hit each edge: 1, primes, non-multiples of every tile (MR 4/6/12, NR 8/16/32, KC 256, MC 128..240,
// NC 3072..4096), K=1, and empty dimensions. C lives inside a larger buffer whose border is a sentinel, so a
// write outside the M x N window (or into the ldc padding) is caught.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "prunebench/emu512.h"
#include "prunebench/gemm.h"
#include "prunebench/reference.h"

namespace {

using pb::index_t;

struct Shape {
  index_t M, N, K;
};

const std::vector<Shape> kShapes = {
    {1, 1, 1},     {1, 7, 1},     {2, 3, 5},      {7, 13, 17},    {13, 29, 31},  {6, 16, 256},
    {12, 32, 256}, {37, 41, 257}, {145, 17, 3},   {64, 64, 1},    {1, 1000, 300}, {1000, 1, 7},
    {241, 33, 513}, {97, 4099, 2}, {131, 127, 600}, {300, 5, 600},  {300, 3, 700},  {33, 1, 2049},  {0, 5, 5},     {5, 0, 5},  {5, 5, 0},
    {0, 0, 0},
    // 1 to 4 columns past the last whole vector of a packed tile (column_kernel): 49 = 32 + 16 + 1 = 6 x 8 + 1,
    // 196 = 6 x 32 + 4 = 24 x 8 + 4, and 2 and 3 past on every vector width.
    {50, 49, 300}, {29, 196, 260}, {13, 66, 40}, {19, 35, 9}, {12, 51, 257},
};

struct Case {
  std::string name;
  pb::GemmFn fn;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& k : pb::gemm_kernels())
    if (k.info.available()) cases.push_back({k.info.id(), k.run});
  for (const auto& [isa, fn] : pb::emu512::with(pb::gemm_openmp_isa_variants(), pb::GemmFn(pb::emu512::gemm_openmp)))
    cases.push_back({"openmp_" + isa, fn});
  return cases;
}

constexpr float kSentinel = -12345.75f;

void check(const Case& c, const Shape& s, int threads) {
  SCOPED_TRACE(c.name + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
               " threads=" + std::to_string(threads));
  // Odd leading dimensions: the kernels must honour lda/ldb/ldc, not assume packed rows.
  const index_t lda = s.K + 3, ldb = s.N + 5, ldc = s.N + 2, guard = 64;
  pb::AlignedBuffer<float> A(static_cast<std::size_t>(std::max<index_t>(1, s.M * lda)));
  pb::AlignedBuffer<float> B(static_cast<std::size_t>(std::max<index_t>(1, s.K * ldb)));
  pb::fill_random(A.span(), 11 + s.M);
  pb::fill_random(B.span(), 23 + s.N);
  std::vector<float> Cbuf(static_cast<std::size_t>(s.M * ldc + 2 * guard), kSentinel);
  float* C = Cbuf.data() + guard;

  c.fn({s.M, s.N, s.K, A.data(), lda, B.data(), ldb, C, ldc, threads});

  for (index_t i = 0; i < guard; ++i) {
    ASSERT_EQ(Cbuf[i], kSentinel) << "write before C";
    ASSERT_EQ(Cbuf[Cbuf.size() - 1 - i], kSentinel) << "write after C";
  }
  for (index_t i = 0; i < s.M; ++i)
    for (index_t j = s.N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], kSentinel) << "write into ldc padding, row " << i;
  if (s.M == 0 || s.N == 0) return;

  std::vector<index_t> rows(static_cast<std::size_t>(s.M));
  for (index_t i = 0; i < s.M; ++i) rows[i] = i;
  std::vector<double> ref(static_cast<std::size_t>(s.M * s.N));
  pb::ref::gemm_rows(s.N, s.K, A.data(), lda, B.data(), ldb, rows, ref.data());
  const double err = pb::ref::max_rel_err(C, ldc, ref.data(), s.M, s.N);
  EXPECT_LE(err, pb::ref::dot_tolerance(s.K));
  if (s.K == 0) {
    for (index_t i = 0; i < s.M; ++i)
      for (index_t j = 0; j < s.N; ++j) ASSERT_EQ(C[i * ldc + j], 0.0f);
  }
}

class GemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(GemmTest, MatchesFloat64OracleOnEdgeShapes) {
  for (const Shape& s : kShapes)
    for (int threads : {1, 2, 3}) check(GetParam(), s, threads);
}

// A kernel must not depend on what C held before (it overwrites, never accumulates into, C).
TEST_P(GemmTest, OverwritesC) {
  const index_t M = 50, N = 70, K = 300;
  pb::AlignedBuffer<float> A(M * K), B(K * N), C1(M * N), C2(M * N);
  pb::fill_random(A.span(), 1);
  pb::fill_random(B.span(), 2);
  for (index_t i = 0; i < M * N; ++i) C1[i] = 0.0f, C2[i] = 1e6f;
  GetParam().fn({M, N, K, A.data(), K, B.data(), N, C1.data(), N, 2});
  GetParam().fn({M, N, K, A.data(), K, B.data(), N, C2.data(), N, 2});
  for (index_t i = 0; i < M * N; ++i) ASSERT_EQ(C1[i], C2[i]) << "at " << i;
}

INSTANTIATE_TEST_SUITE_P(Registry, GemmTest, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return info.param.name; });

// The oracle itself, on a product small enough to write out by hand.
TEST(Reference, TwoByTwo) {
  const float A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
  const pb::index_t rows[] = {0, 1};
  double out[4];
  pb::ref::gemm_rows(2, 2, A, 2, B, 2, rows, out);
  EXPECT_EQ(out[0], 19.0);
  EXPECT_EQ(out[1], 22.0);
  EXPECT_EQ(out[2], 43.0);
  EXPECT_EQ(out[3], 50.0);
}

TEST(Reference, MaxRelErrCatchesNaNAndScales) {
  const double ref[] = {2.0, -4.0};
  const float good[] = {2.0f, -4.0f}, off[] = {2.0f, -3.0f}, bad[] = {NAN, -4.0f};
  EXPECT_EQ(pb::ref::max_rel_err(good, 2, ref, 1, 2), 0.0);
  EXPECT_DOUBLE_EQ(pb::ref::max_rel_err(off, 2, ref, 1, 2), 0.25);
  EXPECT_FALSE(pb::ref::max_rel_err(bad, 2, ref, 1, 2) <= 1.0);
}

TEST(Registry, NamesAreUniqueAndLowerCase) {
  std::vector<std::string> seen;
  for (const auto& k : pb::all_kernels()) {
    const std::string key = k.op + "/" + k.id();
    for (char ch : key) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << key;
    EXPECT_EQ(std::count(seen.begin(), seen.end(), key), 0) << key;
    seen.push_back(key);
  }
  EXPECT_NE(pb::find_gemm_kernel("openmp"), nullptr);
  EXPECT_EQ(pb::find_gemm_kernel("nope"), nullptr);
}

}  // namespace

#ifdef PB_HAVE_MKL
#include <dlfcn.h>

#include "prunebench/mkl.h"

// oneMKL is reached through pointers from libmkl_rt (kernels/mkl/mkl_rt.h). libmkl_rt loads its layer libraries
// into the global scope, after the binary's own dependencies: a global lookup of cblas_sgemm (what the OpenBLAS row
// calls) must still find OpenBLAS's, not MKL's, once MKL is loaded.
TEST(Gemm, OpenBlasRowsCallOpenBlasWithOneMklLoaded) {
  if (!pb::mkl_unavailable().empty()) GTEST_SKIP() << pb::mkl_unavailable();
  EXPECT_FALSE(pb::mkl_version().empty());
  Dl_info info{};
  ASSERT_NE(dladdr(dlsym(RTLD_DEFAULT, "mkl_sparse_s_mm"), &info), 0);  // MKL is loaded by now
#ifdef PB_HAVE_OPENBLAS
  ASSERT_NE(dladdr(dlsym(RTLD_DEFAULT, "cblas_sgemm"), &info), 0);
  EXPECT_NE(std::string(info.dli_fname).find("openblas"), std::string::npos) << info.dli_fname;
#endif
}
#endif
