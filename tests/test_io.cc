// Loaders: the committed corpus (good files load, each bad file fails with one line naming the file), the real
// DLMC sample, and a randomized fuzz of both parsers (mutated valid files must load or fail cleanly, never crash
// — run it under the asan preset to catch memory errors too).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "prunebench/io.h"

namespace {

namespace fs = std::filesystem;
using pb::io::IoError;

const fs::path kCorpus = fs::path(PB_SOURCE_DIR) / "tests" / "corpus";
const fs::path kDlmc = fs::path(PB_SOURCE_DIR) / ".." / "shared" / "data" / "dlmc";

void check_csr(const pb::Csr& a) {
  ASSERT_EQ(a.rowptr.size(), static_cast<std::size_t>(a.rows + 1));
  ASSERT_EQ(a.rowptr.front(), 0);
  ASSERT_EQ(a.rowptr.back(), a.nnz());
  for (pb::index_t i = 0; i < a.rows; ++i) {
    ASSERT_LE(a.rowptr[i], a.rowptr[i + 1]);
    for (auto p = a.rowptr[i]; p < a.rowptr[i + 1]; ++p) {
      ASSERT_GE(a.colidx[p], 0);
      ASSERT_LT(a.colidx[p], a.cols);
      ASSERT_NE(a.values[p], 0.0f);
    }
  }
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

TEST(Smtx, Corpus) {
  int good = 0, bad = 0;
  for (const auto& e : fs::directory_iterator(kCorpus / "smtx")) {
    const std::string name = e.path().filename().string(), path = e.path().string();
    SCOPED_TRACE(name);
    if (name.rfind("good_", 0) == 0) {
      check_csr(pb::io::load_smtx(path, 1));
      ++good;
    } else {
      const std::string err = error_of([&] { pb::io::load_smtx(path, 1); });
      EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << "error must name the file: " << err;
      EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
      ++bad;
    }
  }
  EXPECT_GE(good, 2);
  EXPECT_GE(bad, 10);
  const auto a = pb::io::load_smtx((kCorpus / "smtx" / "good_small.smtx").string(), 1);
  EXPECT_EQ(a.rows, 3);
  EXPECT_EQ(a.cols, 4);
  EXPECT_EQ(a.colidx, (std::vector<std::int32_t>{0, 3, 0, 1, 2}));
  EXPECT_EQ(pb::io::load_smtx((kCorpus / "smtx" / "good_small.smtx").string(), 1).values, a.values);  // seeded
}

TEST(Smtx, MessagesSayWhatIsWrong) {
  auto err = [](const char* f) { return error_of([&] { pb::io::load_smtx((kCorpus / "smtx" / f).string(), 1); }); };
  EXPECT_NE(err("bad_offsets_not_monotone.smtx").find("not monotone"), std::string::npos);
  EXPECT_NE(err("bad_index_out_of_range.smtx").find("out of range"), std::string::npos);
  EXPECT_NE(err("bad_nnz_mismatch.smtx").find("nnz"), std::string::npos);
  EXPECT_NE(err("bad_huge_sizes.smtx").find("too short"), std::string::npos);
  EXPECT_NE(err("bad_truncated.smtx").find("truncated"), std::string::npos);
  EXPECT_NE(err("no_such_file.smtx").find("cannot open"), std::string::npos);
}

TEST(Smtx, RealDlmcSampleLoads) {
  if (!fs::exists(kDlmc)) GTEST_SKIP() << "DLMC sample not found at " << kDlmc;
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(kDlmc)) {
    if (e.path().extension() != ".smtx") continue;
    SCOPED_TRACE(e.path().string());
    const auto a = pb::io::load_smtx(e.path().string(), 7);
    check_csr(a);
    ++n;
  }
  EXPECT_GT(n, 10);
}

TEST(Npy, Corpus) {
  int good = 0, bad = 0;
  for (const auto& e : fs::directory_iterator(kCorpus / "npy")) {
    const std::string name = e.path().filename().string(), path = e.path().string();
    SCOPED_TRACE(name);
    if (name.rfind("good_", 0) == 0) {
      const auto m = pb::io::load_npy(path);
      EXPECT_EQ(m.data.size(), static_cast<std::size_t>(m.rows * m.cols));
      ++good;
    } else {
      const std::string err = error_of([&] { pb::io::load_npy(path); });
      EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << "error must name the file: " << err;
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
      ++bad;
    }
  }
  EXPECT_GE(good, 2);
  EXPECT_GE(bad, 10);
  const auto d = pb::io::load_npy((kCorpus / "npy" / "good_f64_v2.npy").string());
  EXPECT_EQ(d.rows, 3);
  EXPECT_EQ(d.data, (std::vector<float>{1, 2, 0, 0, -1, 0.25f}));
}

TEST(Npy, SaveLoadRoundTrip) {
  const fs::path p = fs::temp_directory_path() / ("pb_npy_" + std::to_string(::getpid()) + ".npy");
  std::vector<float> w(35);
  pb::fill_random(w, 3);
  pb::io::save_npy(p.string(), w.data(), 5, 7);
  const auto m = pb::io::load_npy(p.string());
  fs::remove(p);
  EXPECT_EQ(m.rows, 5);
  EXPECT_EQ(m.cols, 7);
  EXPECT_EQ(m.data, w);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Mutations a hostile or damaged file shows: flipped bytes, truncation, a digit run inserted, a chunk dropped.
std::string mutate(std::string s, std::mt19937_64& g) {
  const int kind = static_cast<int>(g() % 4);
  if (s.empty()) return std::string(1, static_cast<char>(g()));
  const std::size_t at = g() % s.size();
  switch (kind) {
    case 0:
      for (int i = 0; i < 3; ++i) s[g() % s.size()] = static_cast<char>(g());
      break;
    case 1: s.resize(at); break;
    case 2: s.insert(at, std::to_string(g() % 100000000000ULL)); break;
    default: s.erase(at, 1 + g() % 8); break;
  }
  return s;
}

TEST(Fuzz, ParsersLoadOrFailCleanly) {
  std::mt19937_64 g(2026);
  int accepted = 0, rejected = 0;
  for (const auto& dir : {"smtx", "npy"}) {
    for (const auto& e : fs::directory_iterator(kCorpus / dir)) {
      const std::string seed = slurp(e.path());
      for (int it = 0; it < 400; ++it) {
        const std::string input = mutate(seed, g);
        try {
          if (std::string(dir) == "smtx") {
            check_csr(pb::io::parse_smtx(input, "fuzz", 1));
          } else {
            pb::io::parse_npy(input, "fuzz");
          }
          ++accepted;
        } catch (const IoError& err) {
          ASSERT_EQ(std::string(err.what()).rfind("fuzz: ", 0), 0u);
          ++rejected;
        }
      }
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 0);  // some mutations stay valid: the parsers are not rejecting everything
}

}  // namespace
