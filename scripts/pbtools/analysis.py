"""What a run means: speedups of sparse rows over the best dense kernel, break-even sparsities, the roof that
bounds each kernel and the share of it reached, and the "what pays here" advice. Pure functions of the rows, so
the tests can check them on small fixtures."""
from __future__ import annotations

from collections import defaultdict

from . import guard
from .ceilings import bandwidth_roof, level_of
from .ceilings import compute as compute_ceilings
from .results import is_library_peer

COMPUTE_FAMILIES = ("gemm", "spmm", "conv")


def dims(row) -> tuple:
    """The dense problem a row belongs to: (M, N, K) for gemm/spmm, the conv parameters for conv."""
    if row.family in ("gemm", "spmm"):
        return (row.p("M"), row.p("N"), row.p("K"))
    if row.family == "conv":
        return tuple(row.params.get(k) for k in ("N", "C", "H", "W", "K", "R", "S", "stride", "pad"))
    return ()


def best_dense(rows) -> dict:
    """(family-of-dense, dims, threads) -> (time_ns, row) of the fastest dense kernel: gemm rows for spmm, conv
    rows at sparsity 0 for conv, FP32 only. A sparse speedup only counts against this, never against a naive loop."""
    best = {}
    for r in rows:
        if r.error or not r.time_ns:
            continue
        if r.params.get("dtype", "f32") != "f32":
            continue  # tensor-core rows (TF32, BF16) compute something else; sparse FP32 is judged against FP32
        # The run says which rows are dense baselines; a file without row descriptions: every gemm row, and conv
        # rows of the unpruned layer.
        dense = r.dense_baseline if r.dense_baseline is not None else (
            r.family == "gemm" or (r.family == "conv" and float(r.params.get("sparsity", 0)) == 0.0))
        if not dense or r.family not in ("gemm", "conv"):
            continue
        fam = "spmm" if r.family == "gemm" else "conv"
        key = (fam, dims(r), r.p("threads"))
        if key not in best or r.time_ns < best[key][0]:
            best[key] = (r.time_ns, r)
    return best


def speedups(rows) -> list[dict]:
    """One entry per sparse row with a dense baseline at the same problem and thread count."""
    base = best_dense(rows)
    out = []
    for r in rows:
        if r.error or not r.time_ns or r.family not in ("spmm", "conv"):
            continue
        if r.family == "conv" and float(r.params.get("sparsity", 0)) == 0.0:
            continue
        b = base.get((r.family, dims(r), r.p("threads")))
        if not b:
            continue
        out.append({"row": r, "speedup": b[0] / r.time_ns, "baseline": b[1],
                    "sparsity": float(r.params.get("sparsity", 0)), "series": series_name(r)})
    return out


def series_name(r) -> str:
    """backend/format, pattern: the line a sparsity plot draws."""
    return f"{r.backend}/{r.variant} {r.params.get('pattern', '')}".strip()


def break_even(points: list[tuple[float, float]]) -> float | None | str:
    """Sparsity at which speedup reaches 1, interpolated linearly between measured sparsities. '<=s' when the
    lowest measured sparsity already wins, None when no measured sparsity wins."""
    pts = sorted(points)
    if not pts:
        return None
    if pts[0][1] >= 1.0:
        return f"<={pts[0][0]:.2f}"
    for (s0, v0), (s1, v1) in zip(pts, pts[1:]):
        if v0 < 1.0 <= v1:
            return s0 + (1.0 - v0) * (s1 - s0) / (v1 - v0)
    return None


def break_evens(rows) -> list[dict]:
    """Break-even per (shape, threads, series)."""
    groups = defaultdict(list)
    for s in speedups(rows):
        r = s["row"]
        if r.params.get("pattern") == "file":
            continue  # one sparsity per file: no curve
        groups[(dims(r), r.p("threads"), s["series"])].append((s["sparsity"], s["speedup"]))
    out = []
    for (d, t, series), pts in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0, kv[0][2])):
        out.append({"dims": d, "threads": t, "series": series, "break_even": break_even(pts), "points": sorted(pts)})
    return out


def peak_by_threads(rows) -> dict:
    """threads -> best measured FP32 peak FLOP/s on all backends (openmp rows carry the thread counts)."""
    out = {}
    for r in rows:
        if r.family == "peak" and not r.error and r.params.get("dtype") == "f32" and r.best("flops"):
            t = r.p("threads") or 1
            out[t] = max(out.get(t, 0.0), r.best("flops"))
    return out


def working_set(r) -> float | None:
    """Compulsory bytes of one call (bytes_per_second x time)."""
    bps = r.counter("bytes_per_second")
    return bps * r.time_ns * 1e-9 if bps and r.time_ns else None


ROOF_SLACK = 0.05  # a row more than 5% above a roof is flagged: beyond the noise of the ceilings themselves


def compute_roof_at(ceil, threads: int) -> tuple[float | None, str]:
    """The FP32 peak measured at this thread count; where it was not measured (or was flagged as disturbed),
    the 1-thread peak times the thread count, said so."""
    pt = ceil.get("peak_threads", {})
    if f"f32/threads:{threads}" in pt:
        return pt[f"f32/threads:{threads}"], f"f32 peak at {threads} threads"
    if "f32/threads:1" in pt:
        return pt["f32/threads:1"] * threads, f"f32 1-thread peak x {threads}"
    best = max((p["flops"] for k, p in ceil.get("peak", {}).items() if k.endswith("/f32")), default=None)
    return best, "best f32 peak"


def verdicts(ctx, rows, ceil=None) -> list[dict]:
    """For each CPU compute row: the roof that bounds it and the share of that roof it reaches. The compute roof
    is the measured FP32 peak at the row's thread count; the memory roof is ai x the bandwidth measured at the
    row's per-thread working set (its compulsory bytes / threads, read off the bandwidth curve of that thread
    count); the lower one bounds the kernel. A row more than ROOF_SLACK above either roof gets `above_roof`,
    the reason in words: a counter that claims more than the machine can do is a bug until explained."""
    ceil = ceil or compute_ceilings(ctx, rows)
    out = []
    for r in rows:
        if r.error or r.family not in COMPUTE_FAMILIES or r.device == "gpu":
            continue
        if not r.counter("flops") or not r.counter("ai"):
            continue
        t = r.p("threads") or 1
        peak, peak_what = compute_roof_at(ceil, t)
        ws = working_set(r)
        per_thread = ws / t if ws else None
        bw = bandwidth_roof(ceil, per_thread, t) if per_thread else None
        level = level_of(ceil, per_thread) if per_thread else None
        mem_roof = r.counter("ai") * bw if bw else None
        roofs = [(peak, "compute")] if peak else []
        if mem_roof:
            roofs.append((mem_roof, f"{level} bandwidth"))
        if not roofs:
            out.append({"row": r, "bound": "unknown", "roof": None, "share": None})
            continue
        roof, bound = min(roofs)
        v = {"row": r, "bound": bound, "roof": roof, "share": r.counter("flops") / roof, "level": level,
             "per_thread_bytes": per_thread}
        above = []
        if peak and r.counter("flops") > peak * (1 + ROOF_SLACK):
            above.append(f"{r.counter('flops') / 1e9:.1f} GFLOP/s is {r.counter('flops') / peak:.0%} of the compute roof "
                         f"({peak / 1e9:.1f} GFLOP/s, {peak_what})")
        if bw and r.counter("bytes_per_second") and r.counter("bytes_per_second") > bw * (1 + ROOF_SLACK):
            above.append(f"{r.counter('bytes_per_second') / 1e9:.1f} GB/s compulsory traffic is "
                         f"{r.counter('bytes_per_second') / bw:.0%} of the bandwidth measured at "
                         f"{per_thread / 2**20:.2f} MiB per thread ({bw / 1e9:.1f} GB/s, {level}, {t} threads)")
        if above:
            v["above_roof"] = "; ".join(above)
        out.append(v)
    return out


def disturbed(ctx, rows) -> list[dict]:
    """{name, reason} of every row the guard found measured while the machine was disturbed (pbtools.guard)."""
    return guard.disturbed(ctx, rows)


def above_roof(ctx, rows, ceil=None) -> list[dict]:
    """{name, reason} of every row flagged above its roof, and of every ceiling flagged as disturbed."""
    ceil = ceil or compute_ceilings(ctx, rows)
    out = [{"name": v["row"].name, "reason": v["above_roof"]} for v in verdicts(ctx, rows, ceil) if "above_roof" in v]
    out += [{"name": x["row"], "reason": x["reason"]} for x in ceil.get("suspect", [])]
    return out


def store(doc: dict, ctx: dict, rows, c: dict) -> dict:
    """Puts the run's analysis into its document: the ceilings under prunebench_ceilings, and under
    prunebench_analysis the rows above a roof, the disturbed rows and the digest of the rows it was computed from
    (so a later reader reuses it only while the rows are unchanged). Returns the analysis block."""
    from .ceilings import digest
    block = {"above_roof": above_roof(ctx, rows, c), "disturbed": disturbed(ctx, rows), "digest": digest(doc)}
    doc["prunebench_ceilings"] = c
    doc["prunebench_analysis"] = block
    return block


def what_pays(rows) -> list[dict]:
    """Per problem and target sparsity (at the largest thread count measured): the fastest pruned kernel and its
    speedup over the best dense kernel, or 'dense is faster'. CPU rows; the GPU's are in gpu_overview."""
    sp = [s for s in speedups(rows) if s["row"].device != "gpu"]
    if not sp:
        return []
    tmax = max(s["row"].p("threads") or 1 for s in sp)
    best = {}
    for s in sp:
        r = s["row"]
        if (r.p("threads") or 1) != tmax:
            continue
        key = (r.family, dims(r), round(s["sparsity"], 2), r.params.get("name", ""))
        if key not in best or s["speedup"] > best[key]["speedup"]:
            best[key] = s
    # The sparse library a user would pick instead (oneMKL's SpMM; a library peer in the registry) on the same
    # problem, pattern and thread count: how far the fastest pruned kernel is from it.
    library = {(r.family, dims(r), round(float(r.params.get("sparsity", 0)), 2), r.params.get("name", ""),
                r.params.get("pattern"), r.p("threads") or 1): r
               for r in rows if not r.error and r.time_ns and r.device != "gpu" and r.family in ("spmm", "conv")
               and is_library_peer(r)}
    out = []
    for (fam, d, spars, name), s in sorted(best.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2], kv[0][3])):
        r = s["row"]
        lib = library.get((fam, d, spars, name, r.params.get("pattern"), tmax))
        out.append({"family": fam, "dims": d, "sparsity": spars, "name": name, "threads": tmax,
                    "best": f"{r.backend}/{r.variant} ({r.params.get('pattern', '')})",
                    "speedup": s["speedup"], "baseline": f"{s['baseline'].backend}",
                    "advice": f"{s['speedup']:.2f}x" if s["speedup"] >= 1 else "dense is faster",
                    "library": f"{lib.backend}/{lib.variant}" if lib else None,
                    "vs_library": lib.time_ns / r.time_ns if lib else None})
    return out


def gpu_overview(rows) -> dict:
    """The GPU half of a run: ceilings, the GEMM ladder per shape (TFLOP/s), and every sparse row's speedup over
    cuBLAS FP32 dense and over cuSPARSE CSR at the same problem."""
    ok = [r for r in rows if not r.error and r.device == "gpu"]
    out = {"ceilings": {}, "gemm": {}, "spmm": []}
    if not ok:
        return out
    c = out["ceilings"]
    for r in ok:
        bw, f, ns = r.counter("bytes_per_second"), r.counter("flops"), r.counter("ns_per_op")
        if r.family == "mem_bw" and bw:
            c.setdefault("copy", {}).setdefault(r.variant, []).append((r.p("bytes"), bw))
        elif r.family == "mem_lat" and r.counter("ns_per_load"):
            c.setdefault("chase", []).append((r.p("bytes"), r.counter("ns_per_load")))
        elif r.family == "latency_op" and ns:
            c[r.variant + "_ns"] = ns
        elif r.family == "peak" and f:
            c["fma_flops"] = f
    c.get("chase", []).sort()
    for curve in c.get("copy", {}).values():
        curve.sort()
    for r in ok:
        if r.family == "gemm" and r.counter("flops"):
            label = r.backend + (f"/{r.variant}" if r.variant else "") + (f" {r.params['dtype']}" if "dtype" in r.params else "")
            out["gemm"].setdefault(dims(r), {})[label] = r.counter("flops")
    # The library peer for sparse weights (cuSPARSE CSR in the registry) at the same problem.
    cusparse = {(dims(r), r.params.get("pattern"), r.params.get("sparsity")): r.time_ns
                for r in ok if r.family == "spmm" and is_library_peer(r)}
    for e in speedups(ok):
        r = e["row"]
        if r.family != "spmm":
            continue
        cs = cusparse.get((dims(r), r.params.get("pattern"), r.params.get("sparsity")))
        out["spmm"].append(dict(e, vs_cusparse=cs / r.time_ns if cs else None))
    return out
