// Picking a kernel at set-up by timing the candidates on the call's own operands (openmp/csr_auto,
// conv/openmp/sparse_auto): no one of our kernels is the fastest everywhere, and which one wins moves with the
// machine, the shape, the pattern and the thread count, so the choice is measured, as cuSPARSELt's plan search and
// oneDNN's implementation choice measure or model theirs.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

namespace pb {

// Below this share of one thread's FMA rate alone, threads that run FMA chains at once share a physical core
// (about 0.5 where they do: a host that put two vCPUs on the two hardware threads of one core, or threads on one
// CPU). The pick below and the guard's FMA canary (bench/guard.h) use the same line.
constexpr double kSharedCoreShare = 0.7;

// FLOP/s per thread of peak_openmp's f32 FMA chains run on `threads` threads at once (~0.5 ms). The guard's FMA
// canary (bench/guard.h) and threads_share_a_core read it.
double fma_rate_per_thread(int threads);

// Whether `threads` threads' independent FMA chains, run at once, each ran at under kSharedCoreShare of the rate one
// thread alone ran them at just before: the threads share a physical core. Costs about 1 ms. False for one thread.
bool threads_share_a_core(int threads);

// Runs each candidate once (its own set-up and a warm-up), then `rounds` rounds of one call each in turn, so that a
// slow moment of the machine falls on all of them rather than on one; returns the index of the one with the
// shortest single call. Empty: 0.
// With two or more threads the trials are made while the threads have a core each: a host that shares one core
// between two vCPUs for a while slows the kernels unequally (on the Zen 3 guest csr_l1, whose threads keep their
// B slices in L1, 2.5-3.3x, csr_rt6 1.2-1.6x), and a pick made then stays for the weights' life. So before the
// trials, and again after them, threads_share_a_core is asked: the trials wait for a calm moment (at most
// kMaxCalmWaits tries 20 ms apart) and are run again once if the state came during them. A machine whose threads
// always share a core (a cloud VM's two vCPUs of one core) is calm in its own way: after the waits, the pick is
// made as things are, and later picks in the process try once until the threads are found apart (the waits cost
// 0.2 s once, not per pick). *shared_during (when given): whether the trials that made the pick ran on a shared core.
std::size_t fastest_by_trials(const std::vector<std::function<void()>>& runs, int rounds = 3, int threads = 1,
                              bool* shared_during = nullptr);

}  // namespace pb
