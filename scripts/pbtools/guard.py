"""The disturbance guard's verdict on each row, from the counters bench/guard_reporter.cc writes.

Every repetition carries guard_clock_ghz and guard_write_gbs (the better of the canaries run just before and just
after its own run, also where random interleaving spread a row's repetitions over the run:
the slowest core's clock and a streaming write to DRAM on every core), guard_fma_gflops (the worse of the two FMA
canaries: FMA chains on every core at once, which two vCPUs put on one physical core halve; rows of two or more
threads are judged by it; guard_fma_share: each core's rate in it against one core's alone, the worse side),
guard_c2c_ns where it ran on two or more threads (a cache line's round trip between two of its cores) and guard_steal
(the share of CPU time the host stole while it ran). A row is read by the median of its repetitions' readings
(Row.counter), the binary's mean and median rows too. A row is disturbed when a rate canary fell more than its margin
under the run's calm state (the 90th percentile of the rows' canaries), the round trip grew past 1 + c2c_margin times
its calm state (the 10th percentile), the FMA share fell under SHARED_CORE_SHARE (a row of two or more threads,
whatever the run's calm state, which a run spent wholly on a shared core would set) or the steal share passed its
limit: the same rule as judge() in bench/guard.cc, applied here to the whole file, so rows measured again by
scripts/bench are judged together with the rest. The margins are the ones the run recorded in its context.

One rule only this side applies, as it needs all of a row's repetitions (the binary judges a row at its first report):
a row whose median repetition took more than 1 + spread times its fastest (three repetitions or more in one run) was
disturbed while most of it ran, whatever the canaries beside it read. On the Zen 3 guest a row's repetitions read 5974,
10932 and 10830 us (csr_auto, which ran csr_l1: 5938-6459 us in the same run, 4.5-4.8 ms alone) while its canaries
stayed calm: the host slowed the memory system, or took a vCPU, between the canaries. The ceiling families are left to
their own rule: a ceiling takes its best repetition, which a disturbance only makes worse.
"""
from __future__ import annotations

import numpy as np

DEFAULTS = {"margin": 0.10, "memory_margin": 0.50, "steal": 0.05, "c2c_margin": 1.0, "fma_margin": 0.25, "spread": 0.5}
# The rows that measure the machine's limits (scripts/pbtools/ceilings.py); each takes its best repetition.
CEILING_FAMILIES = ("peak", "mem_bw", "mem_lat", "latency_op")
MIN_SPREAD_REPETITIONS = 3
# Each core's FMA rate under this share of one core's alone: the threads share a physical core (kSharedCoreShare in
# kernels/include/prunebench/pick.h, which csr_auto's pick uses too).
SHARED_CORE_SHARE = 0.7


def settings(ctx: dict) -> dict:
    out = dict(DEFAULTS)
    for k in DEFAULTS:
        try:
            out[k] = float(ctx.get(f"guard_{k}", out[k]))
        except (TypeError, ValueError):
            pass
    return out


def calm_state(rows, fma_margin: float = DEFAULTS["fma_margin"]) -> tuple[float | None, ...]:
    """(clock, write, round trip, FMA): the 90th percentile of each rate canary over the rows that carry one, and the
    10th of the round trip over the rows whose FMA canary stayed within fma_margin of its calm state (all of them if
    none did: a shared core has the shortest round trip but is no calm placement, see calm_state in bench/guard.h);
    numpy's default interpolation, as the C++ side."""
    def seen(counter):
        return [r.counter(counter) for r in rows if r.counter(counter)]

    clock, write, fma = seen("guard_clock_ghz"), seen("guard_write_gbs"), seen("guard_fma_gflops")
    calm_fma = float(np.quantile(fma, 0.9)) if fma else None
    c2c_all = [(r.counter("guard_c2c_ns"), r.counter("guard_fma_gflops")) for r in rows if r.counter("guard_c2c_ns")]
    c2c = ([c for c, f in c2c_all if not calm_fma or not f or f >= calm_fma * (1 - fma_margin)]
           or [c for c, _ in c2c_all])
    return (float(np.quantile(clock, 0.9)) if clock else None, float(np.quantile(write, 0.9)) if write else None,
            float(np.quantile(c2c, 0.1)) if c2c else None, calm_fma)


def reason(r, calm: tuple, s: dict) -> str | None:
    """Why the canaries beside the row, or the steal share while it ran, say it was disturbed, or None."""
    clock, write, c2c, fma = calm
    why = []
    c, w, st = r.counter("guard_clock_ghz"), r.counter("guard_write_gbs"), r.counter("guard_steal")
    rt, f = r.counter("guard_c2c_ns"), r.counter("guard_fma_gflops")
    if clock and c and c < clock * (1 - s["margin"]):
        why.append(f"clock {c:.2f} GHz, {1 - c / clock:.0%} under the run's calm {clock:.2f} GHz")
    if fma and f and (r.p("threads") or 1) >= 2 and f < fma * (1 - s["fma_margin"]):  # one thread: not affected
        why.append(f"FMA canary {f:.0f} GFLOP/s, {1 - f / fma:.0%} under the run's calm {fma:.0f} GFLOP/s")
    share = r.counter("guard_fma_share")
    if share and (r.p("threads") or 1) >= 2 and share < SHARED_CORE_SHARE:
        why.append(f"FMA canary: each core at {share:.0%} of one core's rate alone (under {SHARED_CORE_SHARE:.0%}: "
                   "threads sharing a core)")
    if write and w and w < write * (1 - s["memory_margin"]):
        why.append(f"memory canary {w:.1f} GB/s, {1 - w / write:.0%} under the run's calm {write:.1f} GB/s")
    if c2c and rt and rt > c2c * (1 + s["c2c_margin"]):
        why.append(f"cross-core round trip {rt:.0f} ns, {rt / c2c:.1f}x the run's calm {c2c:.0f} ns")
    if st is not None and st > s["steal"]:
        why.append(f"the host stole {st:.0%} of the CPU time (limit {s['steal']:.0%})")
    return "; ".join(why) or None


def unsteady(r, s: dict) -> str | None:
    """Why the row's own repetitions say it was disturbed (see the module's note), or None. Judged per run, as a file
    scripts/abab merged holds runs of two builds."""
    if r.family in CEILING_FAMILIES:
        return None
    for times in r.by_run():
        if len(times) < MIN_SPREAD_REPETITIONS:
            continue
        fastest, median = min(times), float(np.median(times))
        if fastest > 0 and median > fastest * (1 + s["spread"]):
            return (f"repetitions unsteady: the median took {median / fastest:.2f}x the fastest of {len(times)} "
                    f"({fastest / 1e3:.0f}-{max(times) / 1e3:.0f} us)")
    return None


def disturbed(ctx: dict, rows) -> list[dict]:
    """{name, reason} of every row measured while the machine was disturbed (none for runs without the guard), with
    best_holds where only its repetitions' spread says so: its fastest repetition is then a clean measurement (what
    the history takes), while its median (what a row reports) is not."""
    if str(ctx.get("guard", "")) == "off":
        return []
    s = settings(ctx)
    calm = calm_state(rows, s["fma_margin"])
    out = []
    for r in rows:
        if r.error:
            continue
        canaries, spread = reason(r, calm, s), unsteady(r, s)
        if canaries or spread:
            out.append(dict({"name": r.name, "reason": "; ".join(w for w in (canaries, spread) if w)},
                            **({} if canaries else {"best_holds": True})))
    return out
