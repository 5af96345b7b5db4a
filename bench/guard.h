// The disturbance guard. On a 2-vCPU KVM guest the same row has measured 2.3x slower for tens of seconds with
// nothing else running and steal time flat: the host took the cores and the guest could not see it coming. So
// after every repetition of a row (guard_reporter.h) a short canary runs on every core (a dependent integer-add
// chain, whose rate is each core's clock as the guest sees it: a vCPU the host descheduled looks like a slow clock;
// independent FMA chains on every core at once, which a host that puts two vCPUs on one physical core halves; and a
// streaming write to DRAM on every core, which a neighbour's memory traffic slows), and each repetition is judged by
// the canaries on either side of it against the run's calm state (the 90th percentile of its canaries: the best
// single reading is luck, the median is disturbed when half the run is), and by the CPU time the host reported
// stealing while it ran. A row whose repetitions' median reading fails either test carries guard_suspect = 1;
// scripts/bench measures it again, and the analysis shows what stays flagged as disturbed and keeps it out of the
// ceilings.
#pragma once
#include <string>
#include <vector>

namespace pb::bench {

struct CanaryReading {
  double clock_ghz = 0;  // the slowest core's dependent 64-bit adds per ns (1 cycle each)
  double write_gbs = 0;  // all cores streaming non-temporal stores to DRAM
  double c2c_ns = 0;     // a cache line's round trip between two of the row's cores (0: one thread)
  double fma_gflops = 0;  // all cores' FMA chains together (peak_openmp's f32 kernel)
  double fma_share = 0;   // each core's share of that against one core's rate alone, right after (0: one thread)
};

// Margins (config key "guard"): a row is disturbed when the clock canary beside it ran more than `margin` below
// the run's calm state, the memory canary more than `memory_margin` below it, or when the host stole more than
// `steal` of the CPU time while it ran. Measured on a 2-vCPU KVM guest (Emerald Rapids), 40 canaries 50 ms apart
// with nothing else running: clock within -6%..+3% of the median, streaming writes within -17%..+17%; between
// the rows of a quick run the memory canary read 22-43 GB/s without a row looking disturbed. The margins sit
// above that spread: the disturbances worth catching halve a row's speed.
// The cross-core canary: on a 2-vCPU KVM guest (Zen 4) the host moved the two vCPUs, for tens of seconds at a time,
// from cores whose cache-line round trip took 52-63 ns to cores where it took 317-332 ns (no shared L3). Meanwhile
// our kernels that hand data from one thread to the other (the im2col unfold and the padded planes of the direct
// convolutions, written by both threads and read by both) took 1.25-3.9x their time, while oneDNN's rows and the
// bandwidth rows interleaved with them did not move and the clock canary moved 6% or not at all (those kernels now
// keep each thread's data its own and hardly move; libraries that share packed panels still may). A row is disturbed
// when the round trip beside it is more than 1 + c2c_margin times the run's calm one (its 10th percentile: lower is
// calmer). A run spent entirely in the far placement has a far calm state and flags nothing; its counters show it.
// One-thread rows are judged by it too (the canary runs on all of the run's threads): on a 2-vCPU Zen 3 guest, 150
// rounds of rows back to back, in rounds whose round trip read 440-480 ns (against 65-120) one-thread rows took 1.09x
// (gemm/openmp 512^3) and 1.20x (csr_l1 3072x128x768 at 90%) their time in the others; DRAM rows 1.00-1.01x.
// The FMA canary: on the 2-vCPU Zen 3 guest the host put both vCPUs on the two hardware threads of one core: in 3%
// of 40 ms rounds over 80 s (mostly one round at a time), once for 15 s on end, and beside a fifth of a default
// run's rows. Two threads' FMA chains then ran at half their rate each (0.31 ns per ymm FMA and thread against
// 0.155-0.18 alone or on two cores; the round trip read 64-71 ns, the calm end of its range, so that canary saw
// nothing) and the L1-panel SpMM kernels, whose two threads then share one L1, took 2.5-3.3x their time (2:4
// 768x512x3072: 32 ms against 9-13), while the dependent add chain of the clock canary, one add a cycle, did not
// move. One thread alone ran at its full rate in those rounds (the other hardware thread idle), so one-thread rows
// are not judged by it. A row of two or more threads is disturbed when the FMA canary on either side of it reads
// more than fma_margin below the run's calm state: the worse side, not the better (below), as the state is either
// there (103 GFLOP/s over two threads) or not (175-206) and lasts from tens of ms to seconds: a row that began in it
// read 32.0, 32.4 and 32.3 ms (9-13 calm) between canaries of 203 and 103 GFLOP/s. A row next to a short episode
// that missed it is measured again for nothing; one measured in it is not published as clean.
// The run's calm state cannot judge a run spent wholly in a slow state: a short filtered run read csr_l1 at 8.6-9.2
// ms (5.8-6.1 in the runs just before and after) with the FMA canary at 126-130 GFLOP/s (calm: 200) throughout, and
// flagged nothing. So the canary also runs the chains on one core alone, right after, and a row of two or more
// threads is disturbed, whatever the run's calm state, when each core ran at under pb::kSharedCoreShare (0.7) of
// that rate: what csr_auto's pick calls sharing a core (prunebench/pick.h). That run predates the share, so which
// state it was is not known: a neighbour's work on the other hardware thread of each core slows one core alone as
// much, and this rule does not see it. A machine whose all-core FMA clock lies that far under its one-core clock
// would read as disturbed throughout; its rows' guard_fma_share show it.
// spread: applied by the analysis alone (scripts/pbtools/guard.py), as it needs all of a row's repetitions: a row
// of three or more whose median repetition took more than 1 + spread times its fastest is disturbed too. Recorded in
// the context with the rest.
struct GuardSettings {
  bool enabled = true;
  double margin = 0.10;
  double memory_margin = 0.50;
  double steal = 0.05;
  double c2c_margin = 1.0;
  double fma_margin = 0.25;
  double spread = 0.5;
};

// What one repetition saw: the better of the canaries on either side of it (a row counts as disturbed only when the
// machine was slow both before and after it: a disturbance that spoils a row lasts, while one slow canary in
// twenty is the canary's own spread here, and taking the worse flagged 12% of a default run's rows), except the
// FMA canary's worse side (above), and the share of CPU time stolen while it ran (-1 where /proc/stat has no steal
// column).
struct RowGuard {
  CanaryReading canary;
  double steal_share = -1;
  int threads = 1;  // the row's threads (its name's threads:N); the FMA canary judges rows of two or more
};

// Which of a row's invocations each reported repetition is. Google Benchmark calls a row's function once or more
// per repetition and reports the last call: the first repetition grows the iteration count until a call lasts
// long enough, later ones reuse it (Google Benchmark 1.7-1.9). So each repetition is the next invocation, in
// order, that ran its iteration count. -1 where none does.
std::vector<int> match_repetitions(const std::vector<long long>& invocation_iters,
                                   const std::vector<long long>& rep_iters);

// A row's guard over its repetitions, each judged by the canaries around its own invocation: the median of each
// reading over those that have it (the round trip where measured, the steal share where known), as the analysis
// reads a row's counters. Empty input: a default RowGuard.
RowGuard median_guard(const std::vector<RowGuard>& reps);

// The verdict on a row: empty when clean, else the reason in a few words ("clock 1.9 GHz, 17% under the run's
// calm 2.3 GHz"). Python's analysis applies the same rule to the counters (scripts/pbtools/guard.py).
std::string judge(const RowGuard& row, const CanaryReading& calm, const GuardSettings& s);
// The calm state of a run: the 90th percentile of each rate canary over its rows' readings (the FMA canary's over
// those that have one), the 10th of the round trip over the readings that have one and whose FMA canary stayed
// within fma_margin of its calm state (all of them if none did). The shared core is not a calm placement, but its
// round trip (64-67 ns on the Zen 3 guest) is the shortest: a default run there spent a fifth of its rows in it,
// and the 10th percentile of all round trips, 67 ns, flagged rows whose round trip read 135-250 ns (their cores
// apart, sharing an L3) as if their vCPUs had been moved to cores without one (400-500 ns).
CanaryReading calm_state(const std::vector<CanaryReading>& readings, double fma_margin = GuardSettings{}.fma_margin);

// CPU time in jiffies over all CPUs from /proc/stat's "cpu" line; steal < 0 where the kernel has no such column.
struct CpuTimes {
  long long steal = -1, total = 0;
};
CpuTimes read_cpu_times();
double steal_share(const CpuTimes& from, const CpuTimes& to);  // -1 when unknown or no time passed

// The canary itself: ~12 ms, the median of three shots of each kernel (~0.5-1.5 ms each: shorter shots spread twice
// as wide here), so a single timer-tick blip does not flag a row while a disturbance that lasts (the kind that
// spoils a row) does. With two or more threads, also the median of three shots of a cache-line ping-pong between
// threads 0 and 1 (0.1-0.7 ms each; at most 5 ms, should the two share one core), and the FMA chains on one core
// alone after each all-core shot (fma_share).
class Canary {
 public:
  explicit Canary(int threads);
  CanaryReading measure();

 private:
  double round_trip_ns();
  int threads_;
  std::vector<double> buf_;
};

}  // namespace pb::bench
