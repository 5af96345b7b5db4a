"""Measured ceilings from a run's rows: peak FLOP/s per backend and dtype, and the memory levels (L1, L2, L3,
DRAM) detected from the latency curve, each with its latency and the bandwidth every backend reaches in it.

Levels come from the data, not the datasheet: the pointer-chase latency curve is cut into plateaus (consecutive
working sets whose latency stays within PLATEAU_TOL of the plateau's median); plateaus are named L1, L2, ... in
order, as many as the OS reports cache levels, and the last plateau is DRAM. Each level keeps the OS's size
beside the measured extent, so a cache that behaves smaller than its nominal size (shared, partitioned, or cut
by a hypervisor) shows up. Without latency rows, the OS cache sizes define the windows instead.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from .results import GPU_BACKENDS

PLATEAU_TOL = math.log(1.3)  # a working set whose latency differs by more than 30% starts a new plateau


def os_caches(ctx: dict) -> dict:
    """{level: bytes} for data/unified caches, from our context keys or Google Benchmark's own 'caches' list."""
    out = {}
    for lvl in (1, 2, 3):
        key = "l1d_bytes" if lvl == 1 else f"l{lvl}_bytes"
        try:
            v = int(ctx.get(key, 0))
        except (TypeError, ValueError):
            v = 0
        if v > 0:
            out[lvl] = v
    if not out:
        for c in ctx.get("caches", []) or []:
            if isinstance(c, dict) and c.get("type") != "Instruction" and c.get("size"):
                out[int(c["level"])] = int(c["size"])
    return out


def plateaus(points: list[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Greedy cut of a (size, value) curve, sorted by size, into runs within PLATEAU_TOL of their median."""
    segs: list[list[tuple[int, float]]] = []
    for s, v in sorted(points):
        if v <= 0:
            continue
        if segs:
            med = statistics.median(x for _, x in segs[-1])
            if abs(math.log(v / med)) <= PLATEAU_TOL:
                segs[-1].append((s, v))
                continue
        segs.append([(s, v)])
    return segs


def detect_levels(lat_points: list[tuple[int, float]], caches: dict) -> list[dict]:
    """Levels from a latency curve: [{name, os_bytes, from_bytes, to_bytes, latency_ns}], smallest first."""
    if not lat_points:
        return windows_from_os(caches)
    segs = plateaus(lat_points)
    # Single-point segments between plateaus are transitions (the working set straddles two levels); the last
    # segment is kept whatever its length, it is the largest working set measured.
    keep = [seg for i, seg in enumerate(segs) if len(seg) >= 2 or i == len(segs) - 1]
    n_cache = len(caches) if caches else 3
    levels = []
    for i, seg in enumerate(keep):
        last = i == len(keep) - 1
        if i < n_cache and not last:
            name, os_bytes = f"L{i + 1}", caches.get(i + 1)
        elif last:
            name, os_bytes = "DRAM", None
        else:
            # More plateaus than cache levels: between the last cache and DRAM (TLB reach, a remote cache
            # slice). Named for what they are, kept so plots can show them.
            name, os_bytes = f"beyond-L{n_cache}", None
        levels.append({"name": name, "os_bytes": os_bytes, "from_bytes": seg[0][0], "to_bytes": seg[-1][0],
                       "latency_ns": statistics.median(v for _, v in seg)})
    return levels


def windows_from_os(caches: dict) -> list[dict]:
    levels, lo = [], 0
    for lvl in sorted(caches):
        levels.append({"name": f"L{lvl}", "os_bytes": caches[lvl], "from_bytes": lo + 1,
                       "to_bytes": caches[lvl] // 2, "latency_ns": None})
        lo = caches[lvl] * 2
    levels.append({"name": "DRAM", "os_bytes": None, "from_bytes": max(lo, 1) * 2, "to_bytes": 1 << 62,
                   "latency_ns": None})
    return levels


def compute(ctx: dict, rows) -> dict:
    """The CPU's ceilings (GPU rows have their own section in the summary and report)."""
    ok = [r for r in rows if not r.error and r.backend not in GPU_BACKENDS]
    # Peak: the best thread count of each backend/dtype.
    peak = {}
    for r in ok:
        if r.family == "peak" and r.counter("flops"):
            key = f"{r.backend}/{r.params.get('dtype', 'f32')}"
            if key not in peak or r.counter("flops") > peak[key]["flops"]:
                peak[key] = {"flops": r.counter("flops"), "threads": r.p("threads")}
    def curve(variant):
        return [(r.p("bytes"), r.counter("ns_per_load")) for r in ok
                if r.family == "mem_lat" and r.variant == variant and r.counter("ns_per_load")]
    # Levels from the huge-page chase when there is one: it sees the caches without the TLB misses of 4 KiB
    # pages, which otherwise add plateaus of their own. The 4 KiB figure (what lmbench reports, what ordinary
    # code pays) is kept beside each level.
    huge, small = curve("chase_huge"), curve("chase")
    lat = huge or small
    caches = os_caches(ctx)
    levels = detect_levels(lat, caches)
    for lv in levels:
        inside = [v for s, v in small if lv["from_bytes"] <= s <= lv["to_bytes"]]
        lv["latency_ns_4k_pages"] = statistics.median(inside) if inside else None
    # Bandwidth per level: for each series (backend/op/threads), the best value over working sets inside the
    # level's measured extent (DRAM: from its first working set up).
    series = defaultdict(list)
    for r in ok:
        if r.family == "mem_bw" and r.counter("bytes_per_second"):
            series[f"{r.backend}/{r.variant}/threads:{r.p('threads')}"].append((r.p("bytes"), r.counter("bytes_per_second")))
    for i, lv in enumerate(levels):
        lo = lv["from_bytes"]
        hi = lv["to_bytes"] if i < len(levels) - 1 else 1 << 62
        bw = {}
        for key, pts in series.items():
            if lv["name"] == "DRAM":
                # DRAM is what the largest working set sees: the latency plateau can start where a cache still
                # streams well (prefetchers hide its latency), so only the series' largest size counts.
                big = max(s for s, _ in pts)
                inside = [v for s, v in pts if s == big and s >= lo]
            else:
                inside = [v for s, v in pts if lo <= s <= hi]
            if inside:
                bw[key] = max(inside)
        lv["bandwidth"] = bw
        lv["best_bandwidth"] = max(bw.values()) if bw else None
    return {"peak": peak, "levels": levels,
            "clock_ghz": _float(ctx.get("cpu_clock_ghz")),
            "source": ("huge-page chase plateaus" if huge else "chase plateaus") if lat else "OS cache sizes"}


def _float(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def compute_roof(ceil: dict) -> tuple[float | None, float | None]:
    """(best peak FLOP/s, DRAM bandwidth) — the two numbers every roofline verdict starts from."""
    peak = max((p["flops"] for p in ceil["peak"].values()), default=None)
    dram = next((lv["best_bandwidth"] for lv in ceil["levels"] if lv["name"] == "DRAM"), None)
    return peak, dram
