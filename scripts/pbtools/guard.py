"""The disturbance guard's verdict on each row, from the counters bench/guard_reporter.cc writes.

Every row carries guard_clock_ghz and guard_write_gbs (the better of the canaries run just before and just after
it: the slowest core's clock and a streaming write to DRAM on every core) and guard_steal (the share of CPU time
the host stole while it ran). A row is disturbed when a canary fell more than its margin under the run's calm
state (the 90th percentile of the rows' canaries) or the steal share passed its limit: the same rule as judge()
in bench/guard.cc, applied here to the whole file, so rows measured again by scripts/bench are judged together
with the rest. The margins are the ones the run recorded in its context.
"""
from __future__ import annotations

import numpy as np

DEFAULTS = {"margin": 0.10, "memory_margin": 0.50, "steal": 0.05}


def settings(ctx: dict) -> dict:
    out = dict(DEFAULTS)
    for k in DEFAULTS:
        try:
            out[k] = float(ctx.get(f"guard_{k}", out[k]))
        except (TypeError, ValueError):
            pass
    return out


def calm_state(rows) -> tuple[float | None, float | None]:
    """The 90th percentile of each canary over the rows that carry one (numpy's default interpolation, as the
    C++ side)."""
    clock = [r.counter("guard_clock_ghz") for r in rows if r.counter("guard_clock_ghz")]
    write = [r.counter("guard_write_gbs") for r in rows if r.counter("guard_write_gbs")]
    return (float(np.quantile(clock, 0.9)) if clock else None, float(np.quantile(write, 0.9)) if write else None)


def reason(r, calm: tuple, s: dict) -> str | None:
    """Why the row counts as disturbed, or None."""
    clock, write = calm
    why = []
    c, w, st = r.counter("guard_clock_ghz"), r.counter("guard_write_gbs"), r.counter("guard_steal")
    if clock and c and c < clock * (1 - s["margin"]):
        why.append(f"clock {c:.2f} GHz, {1 - c / clock:.0%} under the run's calm {clock:.2f} GHz")
    if write and w and w < write * (1 - s["memory_margin"]):
        why.append(f"memory canary {w:.1f} GB/s, {1 - w / write:.0%} under the run's calm {write:.1f} GB/s")
    if st is not None and st > s["steal"]:
        why.append(f"the host stole {st:.0%} of the CPU time (limit {s['steal']:.0%})")
    return "; ".join(why) or None


def disturbed(ctx: dict, rows) -> list[dict]:
    """{name, reason} of every row measured while the machine was disturbed (none for runs without the guard)."""
    if str(ctx.get("guard", "")) == "off":
        return []
    s, calm = settings(ctx), calm_state(rows)
    out = []
    for r in rows:
        if r.error:
            continue
        why = reason(r, calm, s)
        if why:
            out.append({"name": r.name, "reason": why})
    return out
