// Picking a kernel at set-up by timing the candidates on the call's own operands (openmp/csr_auto,
// conv/openmp/sparse_auto): no one of our kernels is the fastest everywhere, and which one wins moves with the
// machine, the shape, the pattern and the thread count, so the choice is measured, as cuSPARSELt's plan search and
// oneDNN's implementation choice measure or model theirs.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

namespace pb {

// Runs each candidate once (its own set-up and a warm-up), then `rounds` rounds of one call each in turn, so that a
// slow moment of the machine falls on all of them rather than on one; returns the index of the one with the
// shortest single call. Empty: 0.
std::size_t fastest_by_trials(const std::vector<std::function<void()>>& runs, int rounds = 3);

}  // namespace pb
