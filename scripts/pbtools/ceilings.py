"""Measured ceilings from a run's rows: peak FLOP/s per backend and dtype, and the memory levels (L1, L2, L3,
DRAM) detected from the latency curve, each with its latency and the bandwidth every backend reaches in it.

Levels come from the data, not the datasheet: the pointer-chase latency curve is cut into plateaus (consecutive
working sets whose latency stays within PLATEAU_TOL of the plateau's median); plateaus are named L1, L2, ... in
order, as many as the OS reports cache levels, and the last plateau is DRAM. Each level keeps the OS's size
beside the measured extent, so a cache that behaves smaller than its nominal size (shared, partitioned, or cut
by a hypervisor) shows up. Without latency rows, the OS cache sizes define the windows instead.
"""
from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections import defaultdict
from . import guard

CEILING_FAMILIES = guard.CEILING_FAMILIES
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
    # A ceiling row the guard found disturbed (its canaries slow, or steal time) is flagged and left out.
    suspect = [{"row": d["name"], "reason": "measured while disturbed: " + d["reason"]}
               for d in guard.disturbed(ctx, rows) if d["name"].split("/", 1)[0] in CEILING_FAMILIES]
    skip = {x["row"] for x in suspect}
    ok = [r for r in rows if not r.error and r.device != "gpu" and r.name not in skip]
    # Peak per backend/dtype and thread count, from each row's best repetition. A T-thread figure that does not
    # beat the 1-thread one by half a core (T > 1) was measured while the machine was disturbed: it is flagged
    # and left out, never taken as a roof.
    by_threads = {}
    for r in ok:
        if r.family == "peak" and r.best("flops"):
            by_threads[(r.backend, r.params.get("dtype", "f32"), r.p("threads") or 1)] = (r.best("flops"), r.name)
    for (b, d, t), (f, name) in sorted(by_threads.items()):
        one = by_threads.get((b, d, 1))
        if t > 1 and one and f < one[0] * (1 + 0.5 * (t - 1)):
            suspect.append({"row": name, "reason": f"{t} threads reach {f / one[0]:.2f}x the 1-thread figure "
                            f"({f / 1e9:.1f} vs {one[0] / 1e9:.1f} GFLOP/s): a disturbed measurement, not a ceiling"})
    bad = {x["row"] for x in suspect}
    peak, peak_threads = {}, {}
    for (b, d, t), (f, name) in by_threads.items():
        if name in bad:
            continue
        key = f"{b}/{d}"
        if key not in peak or f > peak[key]["flops"]:
            peak[key] = {"flops": f, "threads": t}
        k2 = f"{d}/threads:{t}"
        peak_threads[k2] = max(peak_threads.get(k2, 0.0), f)
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
    # level's measured extent (DRAM: from its first working set up). A T-thread row splits its arrays T ways,
    # so it is placed by its per-thread working set (bytes / T): by the total, two L1-sized halves would count
    # as an L2 working set and the L2 roof would come out above L1's.
    series = defaultdict(list)
    for r in ok:
        if r.family == "mem_bw" and r.best("bytes_per_second"):
            t = r.p("threads") or 1
            series[f"{r.backend}/{r.variant}/threads:{t}"].append((r.p("bytes") // t, r.best("bytes_per_second")))
    for i, lv in enumerate(levels):
        lo = lv["from_bytes"] if i else 0  # a per-thread share below the smallest size measured is still L1
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
    # No inner level's roof below an outer one: a working set that fits an outer level also fits every level
    # inside it, so it can stream at least as fast there.
    outer = None
    for lv in reversed(levels):
        if lv["best_bandwidth"] is not None and outer is not None and lv["best_bandwidth"] < outer:
            lv["best_bandwidth"], lv["raised_to_outer"] = outer, True
        outer = lv["best_bandwidth"] if lv["best_bandwidth"] is not None else outer
    # The bandwidth curve per thread count, for roofs: at each per-thread working set, the best series.
    curves = defaultdict(dict)
    for key, pts in series.items():
        t = int(key.rsplit(":", 1)[1])
        for s_, v in pts:
            curves[t][s_] = max(curves[t].get(s_, 0.0), v)
    return {"peak": peak, "peak_threads": peak_threads, "suspect": suspect, "levels": levels,
            "bw_curves": {str(t): sorted(c.items()) for t, c in sorted(curves.items())},
            "clock_ghz": _float(ctx.get("cpu_clock_ghz")),
            "source": ("huge-page chase plateaus" if huge else "chase plateaus") if lat else "OS cache sizes"}


def digest(doc: dict) -> str:
    """A fingerprint of a run's rows: a stored analysis is reused only while the rows it was computed from are
    still the ones in the file (a merge or a re-measure changes them)."""
    return hashlib.sha1(json.dumps(doc.get("benchmarks", []), sort_keys=True).encode()).hexdigest()


def of_run(doc: dict, ctx: dict, rows) -> dict:
    """The ceilings scripts/analyze stored in the file when they still match its rows, else computed now."""
    stored = doc.get("prunebench_ceilings")
    if isinstance(stored, dict) and doc.get("prunebench_analysis", {}).get("digest") == digest(doc):
        return stored
    return compute(ctx, rows)


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


def bandwidth_roof(ceil: dict, per_thread_bytes: float, threads: int) -> float | None:
    """The most bandwidth a working set of per_thread_bytes per thread can get at this thread count: the best
    measured at the largest measured size not above it, or at any larger size (the curve's envelope from the
    right). Read off the bandwidth curve itself, so a cache that still streams past its latency knee keeps its
    bandwidth; an upper bound, since a smaller working set is never slower."""
    curves = ceil.get("bw_curves") or {}
    curve = curves.get(str(threads))
    if not curve:  # no bandwidth rows at this thread count: the nearest thread count below, else any
        ts = sorted(int(t) for t in curves)
        below = [t for t in ts if t <= threads]
        if not ts:
            return None
        curve = curves[str(below[-1] if below else ts[0])]
    pts = sorted(curve)
    at = [i for i, (s_, _) in enumerate(pts) if s_ <= per_thread_bytes]
    start = at[-1] if at else 0
    return max(v for _, v in pts[start:])


def level_of(ceil: dict, per_thread_bytes: float) -> str | None:
    """The name of the measured level a per-thread working set falls in."""
    for lv in ceil["levels"]:
        if per_thread_bytes <= lv["to_bytes"]:
            return lv["name"]
    return ceil["levels"][-1]["name"] if ceil["levels"] else None