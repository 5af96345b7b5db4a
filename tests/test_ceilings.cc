// The ceiling kernels do the work they claim: a chase ring is one cycle through every line, bandwidth kernels
// touch every element, FMA chains are not folded (each chain performs exactly `steps` operations).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "prunebench/memory.h"
#include "prunebench/peak.h"
#include "prunebench/types.h"

namespace {

using pb::index_t;

TEST(Chase, RandomRingIsOneCycleThroughEveryLine) {
  for (std::size_t lines : {2u, 3u, 17u, 1000u, 4099u}) {
    const std::size_t stride = 64;
    pb::AlignedBuffer<char> buf(lines * stride);
    pb::build_chase_ring(buf.data(), lines, stride, true, 7);
    std::set<void*> seen;
    void* p = buf.data();
    for (std::size_t i = 0; i < lines; ++i) {
      EXPECT_TRUE(seen.insert(p).second) << "line revisited after " << i << " steps of " << lines;
      const auto off = static_cast<std::size_t>(static_cast<char*>(p) - buf.data());
      ASSERT_EQ(off % stride, 0u);
      ASSERT_LT(off, lines * stride);
      p = pb::chase(p, 1);
    }
    EXPECT_EQ(p, buf.data()) << "the cycle does not close after " << lines << " steps";
    EXPECT_EQ(pb::chase(buf.data(), static_cast<std::int64_t>(lines)), buf.data());  // the unrolled path agrees
  }
}

TEST(Chase, StrideRingIsSequential) {
  const std::size_t lines = 100, stride = 64;
  pb::AlignedBuffer<char> buf(lines * stride);
  pb::build_chase_ring(buf.data(), lines, stride, false, 0);
  EXPECT_EQ(pb::chase(buf.data(), 1), buf.data() + stride);
  EXPECT_EQ(pb::chase(buf.data(), 99), buf.data() + 99 * stride);
  EXPECT_EQ(pb::chase(buf.data(), 100), buf.data());
}

// Every element must hold the value the kernel's formula gives; a kernel that skips a tail or a thread's
// slice leaves the initial value behind.
TEST(Bandwidth, EveryKernelTouchesEveryElement) {
  for (const auto& k : pb::bw_kernels()) {
    if (!k.info.available()) continue;
    for (std::size_t n : {1u, 7u, 33u, 1001u, 4099u, 70001u}) {  // the last beyond L1 (the read prefetches there)
      for (int threads : {1, 2, 3}) {
        if (!k.threaded && threads > 1) continue;
        SCOPED_TRACE(k.info.id() + " n=" + std::to_string(n) + " threads=" + std::to_string(threads));
        pb::AlignedBuffer<double> a(n), b(n), c(n);
        for (std::size_t i = 0; i < n; ++i) a[i] = 1.0 + i, b[i] = 1000.0 + i, c[i] = -0.5 * i;
        const double s = 3.0;
        const double r = k.run(k.op, {a.data(), b.data(), c.data(), n, 1, threads, s});
        const std::string v = k.info.variant;
        for (std::size_t i = 0; i < n; ++i) {
          if (v == "write" || v == "write_nt") {
            ASSERT_EQ(a[i], s) << i;
          } else if (v == "copy" || v == "copy_nt") {
            ASSERT_EQ(c[i], 1.0 + i) << i;
          } else if (v == "triad" || v == "triad_nt") {
            ASSERT_EQ(a[i], 1000.0 + i + s * (-0.5 * i)) << i;
          }
        }
        if (v == "read") {
          EXPECT_EQ(r, n * (n + 1) / 2.0);  // integers: exact in any summation order
        }
      }
    }
  }
}

TEST(Bandwidth, PassesRepeatTheKernel) {
  // Every read kernel, inside L1 and beyond it (the openmp read runs its passes itself, keeping its partial sums).
  for (const auto& k : pb::bw_kernels()) {
    if (!k.info.available() || k.info.variant != "read") continue;
    for (std::size_t n : {100u, 70001u}) {
      SCOPED_TRACE(k.info.id() + " n=" + std::to_string(n));
      pb::AlignedBuffer<double> a(n);
      for (std::size_t i = 0; i < n; ++i) a[i] = 1.0;
      EXPECT_EQ(k.run(pb::BwOp::read, {a.data(), a.data(), a.data(), n, 5, k.threaded ? 2 : 1, 0.0}), 5.0 * n);
    }
  }
}

// With b = 1 and c = 1 each chain step adds exactly 1, so after `steps` rounds chain i holds x0_i + steps
// (computed here in the same precision). A folded, skipped or merged chain gives another checksum.
template <class F>
double expected_chain(double x0, std::int64_t steps) {
  F x = static_cast<F>(x0);
  for (std::int64_t s = 0; s < steps; ++s) x = x * F(1) + F(1);
  return x;
}

TEST(Peak, ChainsAreNotFolded) {
  const std::int64_t steps = 1000;
  for (const auto& k : pb::peak_kernels()) {
    for (pb::Dtype dt : {pb::Dtype::f32, pb::Dtype::f64}) {
      for (int threads : {1, 2}) {
        if (!k.threaded && threads > 1) continue;
        SCOPED_TRACE(k.info.id() + " " + pb::dtype_name(dt) + " threads=" + std::to_string(threads));
        const pb::PeakRun r = k.run(dt, steps, threads, 1.0, 1.0);
        double want = 0.0;
        for (int i = 0; i < r.chains; ++i)
          want += r.lanes * (dt == pb::Dtype::f32 ? expected_chain<float>(1.0 + 0.001 * i, steps)
                                                  : expected_chain<double>(1.0 + 0.001 * i, steps));
        EXPECT_DOUBLE_EQ(r.checksum, want * threads);
        EXPECT_EQ(r.flops, 2.0 * r.chains * r.lanes * steps * threads);
        EXPECT_GE(r.chains, 8) << "too few chains to cover FMA latency x 2 ports";
      }
    }
  }
}

TEST(Latency, ChainsComputeTheirOperation) {
  for (const auto& k : pb::latency_kernels()) {
    if (!k.info.available()) GTEST_SKIP() << k.info.why_unavailable();
  }
  using pb::Dtype;
  using pb::LatOp;
  for (Dtype dt : {Dtype::f32, Dtype::f64}) {
    EXPECT_EQ(pb::latency_chain(LatOp::add, dt, 800, 0.0, 1.0, 1.0), 800.0);
    EXPECT_EQ(pb::latency_chain(LatOp::fma, dt, 800, 5.0, 1.0, 2.0), 1605.0);
    EXPECT_EQ(pb::latency_chain(LatOp::mul, dt, 16, 1.0, 2.0, 0.0), 65536.0);
    EXPECT_EQ(pb::latency_chain(LatOp::div, dt, 16, 65536.0, 2.0, 0.0), 1.0);
  }
  EXPECT_EQ(pb::latency_chain_i64(1000, 1, 3), 1 + 3 * 1000);
}

}  // namespace
