"""What a run means: speedups of sparse rows over the best dense kernel, break-even sparsities, the roof that
bounds each kernel and the share of it reached, and the "what pays here" advice. Pure functions of the rows, so
the tests can check them on small fixtures."""
from __future__ import annotations

from collections import defaultdict

from . import guard
from .ceilings import bandwidth_roof, level_of
from .ceilings import compute as compute_ceilings
from .results import geomean, is_library_peer

COMPUTE_FAMILIES = ("gemm", "spmm", "conv")


def dims(row) -> tuple:
    """The dense problem a row belongs to: (M, N, K) for gemm/spmm, the conv parameters for conv."""
    if row.family in ("gemm", "spmm"):
        return (row.p("M"), row.p("N"), row.p("K"))
    if row.family == "conv":
        return tuple(row.params.get(k) for k in ("N", "C", "H", "W", "K", "R", "S", "stride", "pad"))
    return ()


def dtype(r) -> str:
    """The precision a row computes in (its dtype key; every CPU row and our FP32 GPU kernels: f32)."""
    return r.params.get("dtype", "f32")


def precision_accepts(ctx) -> dict:
    """dtype -> the dense precisions a user deploying that input could run instead, from the run's context
    (`precision_accepts`, written from the binary's precision table: "f32=f32,tf32 f16=f16,bf16 ..."). A run
    without it: each precision accepts only itself."""
    out = {}
    for item in (ctx or {}).get("precision_accepts", "").split():
        d, _, acc = item.partition("=")
        out[d] = [a for a in acc.split(",") if a]
    return out


def is_dense_baseline(r) -> bool:
    """The run says which rows are dense baselines; a file without row descriptions: every gemm row, and conv rows of
    the unpruned layer."""
    return r.dense_baseline if r.dense_baseline is not None else (
        r.family == "gemm" or (r.family == "conv" and float(r.params.get("sparsity", 0)) == 0.0))


def remeasure_order(rows, names: list[str]) -> list[str]:
    """Disturbed rows in the order scripts/bench measures them again (the first ones, where there are more than it
    measures): as given (the ceilings come first) for those rows, then the dense baselines the CPU's sparse-vs-dense
    verdicts are judged at (the largest thread count: each one stands under every pruned row of its shape), then the
    pruned rows at that thread count, then the rest, each group in run order."""
    by = {r.name: r for r in rows}
    pruned = [r for r in rows if r.family in ("spmm", "conv") and r.device != "gpu" and not is_dense_baseline(r)]
    tmax = max((r.p("threads") or 1 for r in pruned), default=None)

    def rank(n):
        r = by.get(n)
        if r is None or r.family not in ("gemm", "conv", "spmm") or r.device == "gpu" or (r.p("threads") or 1) != tmax:
            return 2
        return 0 if is_dense_baseline(r) else 1
    return sorted(names, key=rank)


# Rows the guard found disturbed still take part in picking the fastest kernel of a side. A disturbance only adds
# time, so a row's time bounds its kernel's from above, and the fastest measured is the best bound on each side,
# disturbed or not: preferring a slower clean row (tried) put a slower kernel under "ours" where the fastest was
# flagged for a far cross-core round trip, and csr_auto then read 1.27x the best of our fixed kernels on the DLMC
# sample (Zen 3). What a disturbed pick changes is how sure the figure is: speedups carry `disturbed`, why.
def best_dense(rows) -> dict:
    """(family-of-dense, dims, threads, dtype) -> (time_ns, row) of the fastest dense kernel at that precision:
    gemm rows for spmm, conv rows at sparsity 0 for conv. A sparse speedup only counts against these, never
    against a naive loop."""
    best = {}
    for r in rows:
        if r.error or not r.time_ns:
            continue
        if not is_dense_baseline(r) or r.family not in ("gemm", "conv"):
            continue
        if r.params.get("inputs", "uniform") != "uniform":
            continue  # the sparse rows multiply uniform inputs; a GEMM on other data is a clock study, not a baseline
        fam = "spmm" if r.family == "gemm" else "conv"
        key = (fam, dims(r), r.p("threads"), dtype(r))
        if key not in best or r.time_ns < best[key][0]:
            best[key] = (r.time_ns, r)
    return best


def _fastest(base, key, dtypes):
    cands = [base[key + (d,)] for d in dtypes if key + (d,) in base]
    return min(cands, key=lambda c: c[0]) if cands else None


def disturbed_why(r, baseline) -> str | None:
    """Why a speedup of r over baseline is uncertain: either row measured while the machine was disturbed (the
    sparse row's time an upper bound: the speedup may be more; the baseline's: it may be less)."""
    why = [f"{who} {x.name}: {x.disturbed}" for who, x in (("measured while disturbed:", r),
                                                            ("its dense baseline was,", baseline)) if x.disturbed]
    return "; ".join(why) or None


def speedups(rows, accepts: dict | None = None) -> list[dict]:
    """One entry per sparse row with a dense baseline at the same problem, thread count and precision:
    `speedup` over the fastest dense kernel at the row's own precision (a BF16 sparse row against BF16 dense; every
    CPU row is FP32). Where the run has dense rows at other precisions (the GPU's), also `speedup_accepted` over
    the fastest dense kernel at any precision the row's input allows (`accepts`, precision_accepts(ctx): FP32
    against FP32 or TF32, BF16 against BF16 or FP16) and `speedup_any` over the fastest dense kernel at any
    precision at all, with the rows they were judged against."""
    base = best_dense(rows)
    accepts = accepts or {}
    by_problem = defaultdict(set)
    for fam, d, t, dt in base:
        by_problem[(fam, d, t)].add(dt)
    out = []
    for r in rows:
        if r.error or not r.time_ns or r.family not in ("spmm", "conv"):
            continue
        if r.family == "conv" and float(r.params.get("sparsity", 0)) == 0.0:
            continue
        key = (r.family, dims(r), r.p("threads"))
        b = base.get(key + (dtype(r),))
        if not b:
            continue
        e = {"row": r, "speedup": b[0] / r.time_ns, "baseline": b[1], "dtype": dtype(r),
             "sparsity": float(r.params.get("sparsity", 0)), "series": series_name(r),
             "disturbed": disturbed_why(r, b[1])}
        if len(by_problem[key]) > 1:
            acc = _fastest(base, key, accepts.get(dtype(r), [dtype(r)])) or b  # its own precision is among them
            anyp = _fastest(base, key, sorted(by_problem[key]))
            e.update(speedup_accepted=acc[0] / r.time_ns, baseline_accepted=acc[1],
                     speedup_any=anyp[0] / r.time_ns, baseline_any=anyp[1])
        out.append(e)
    return out


def series_name(r) -> str:
    """backend/format, pattern (and precision, where the row names one): the line a sparsity plot draws."""
    dt = f" {r.params['dtype']}" if "dtype" in r.params else ""
    kernel = f"{r.backend}/{r.variant}" if r.variant else r.backend
    return f"{kernel} {r.params.get('pattern', '')}".strip() + dt


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


def break_evens(rows, accepts: dict | None = None) -> list[dict]:
    """Break-even per (shape, threads, series) against dense at the row's own precision; where the run has other
    precisions (GPU), `break_even_accepted` against the fastest dense at any precision the input allows."""
    groups, accepted = defaultdict(list), defaultdict(list)
    for s in speedups(rows, accepts):
        r = s["row"]
        if r.params.get("pattern") == "file":
            continue  # one sparsity per file: no curve
        k = (dims(r), r.p("threads"), s["series"])
        groups[k].append((s["sparsity"], s["speedup"]))
        if "speedup_accepted" in s:
            accepted[k].append((s["sparsity"], s["speedup_accepted"]))
    out = []
    for (d, t, series), pts in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0, kv[0][2])):
        e = {"dims": d, "threads": t, "series": series, "break_even": break_even(pts), "points": sorted(pts)}
        if (d, t, series) in accepted:
            e["break_even_accepted"] = break_even(accepted[(d, t, series)])
        out.append(e)
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
    out += [{"name": v["row"].name, "reason": v["above_roof"]} for v in gpu_verdicts(rows) if "above_roof" in v]
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
    speedup over the best dense kernel, or 'dense is faster'. CPU rows; the GPU's are in gpu_overview. A verdict
    that rests on a row measured while disturbed carries `disturbed`, why."""
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
        setup_ms, payback = payback_calls(r, s["baseline"])
        out.append({"family": fam, "dims": d, "sparsity": spars, "name": name, "threads": tmax,
                    "best": f"{r.backend}/{r.variant}{picked(r)} ({r.params.get('pattern', '')})",
                    "speedup": s["speedup"], "baseline": f"{s['baseline'].backend}",
                    "advice": f"{s['speedup']:.2f}x" if s["speedup"] >= 1 else "dense is faster",
                    "library": f"{lib.backend}/{lib.variant}" if lib else None,
                    "vs_library": lib.time_ns / r.time_ns if lib else None,
                    "setup_ms": setup_ms, "payback_calls": payback, "disturbed": s["disturbed"]})
    return out


# Our own top rung on the CPU: "ours" in sparse_geomeans' ratios; the other backends of a pruned problem are what a
# user could pick instead (Eigen's generic sparse product, oneMKL's SpMM; for structured pruning the libraries' dense
# kernels on the smaller problem). The scalar rung is left out there: a lesson in the ladder, nobody's choice.
OURS = "openmp"
# Our kernels that pick among the others at set-up (by timing them on the call's operands): a column of their own, so
# the table shows what a user gets without choosing, beside the best of ours chosen after the fact.
PICKS = {("openmp", "csr_auto"): "openmp/csr_auto", ("openmp", "sparse_auto"): "openmp/sparse_auto"}
PICKS_SAID = " and ".join(PICKS.values())  # for the tables' headings


def sparse_geomeans(rows) -> list[dict]:
    """The pruned CPU rows at a glance: per family, pruning pattern and sparsity (and over all sparsities of the
    pattern, sparsity None, where it has several), the geomean over the problems (shape, layer) of each backend's
    fastest kernel's speedup over the fastest dense kernel at the same shape, at the largest thread count measured;
    and our fastest (OURS; a kernel that picks at set-up, PICKS, counts apart) over each other backend's, on the
    problems both ran. The figures a DLMC study is judged by (issue 17: over dense, over Eigen's sparse product, over
    oneMKL's SpMM). Each entry: family, pattern, sparsity, threads, problems, speedup {backend: (geomean, problems)},
    ours_over {backend: (geomean, problems)}, disturbed (on how many of the problems a figure rests on a row measured
    while disturbed: its kernel's or the dense baseline's)."""
    sp = [s for s in speedups(rows) if s["row"].device != "gpu" and s["row"].backend != "naive"]
    if not sp:
        return []
    tmax = max(s["row"].p("threads") or 1 for s in sp)
    best = {}  # (family, pattern, sparsity, problem) -> backend -> speedup of its fastest kernel
    for s in sp:
        r = s["row"]
        if (r.p("threads") or 1) != tmax:
            continue
        key = (r.family, r.params.get("pattern", ""), round(s["sparsity"], 2), (dims(r), r.params.get("name", "")))
        cell = best.setdefault(key, {})
        b = PICKS.get((r.backend, r.variant), r.backend)
        # (speedup, disturbed): the faster kernel, and whether its figure rests on a disturbed row
        cell[b] = max(cell.get(b, (0.0, False)), (s["speedup"], bool(s["disturbed"])))
    suspect = {k for k, cell in best.items() if any(d for _, d in cell.values())}
    best = {k: {b: v for b, (v, _) in cell.items()} for k, cell in best.items()}
    groups = defaultdict(list)  # (family, pattern, sparsity or None) -> the problems' cells
    n_suspect = defaultdict(int)
    for key, cell in best.items():
        fam, pat, spars, _ = key
        groups[(fam, pat, spars)].append(cell)
        groups[(fam, pat, None)].append(cell)
        if key in suspect:
            n_suspect[(fam, pat, spars)] += 1
            n_suspect[(fam, pat, None)] += 1
    out = []
    for (fam, pat, spars), cells in sorted(groups.items(), key=lambda kv: (kv[0][:2], kv[0][2] is None, kv[0][2] or 0)):
        if spars is None and len({k[2] for k in groups if k[:2] == (fam, pat) and k[2] is not None}) < 2:
            continue  # one sparsity: its own line says it all
        backends = list(dict.fromkeys(b for c in cells for b in sorted(c, key=lambda b: (b != OURS, b not in
                                                                                        PICKS.values(), b))))
        speedup = {b: (geomean([c[b] for c in cells if b in c]), sum(b in c for c in cells)) for b in backends}
        ours_over = {}
        for b in backends:
            both = [c[OURS] / c[b] for c in cells if b != OURS and OURS in c and b in c]
            if both:
                ours_over[b] = (geomean(both), len(both))
        out.append({"family": fam, "pattern": pat, "sparsity": spars, "threads": tmax, "problems": len(cells),
                    "speedup": speedup, "ours_over": ours_over, "disturbed": n_suspect[(fam, pat, spars)]})
    return out


def picked(row) -> str:
    """' -> <kernel>' for a kernel that picks at set-up (PICKS) and names its pick in the row's label, else ''."""
    return f" -> {row.label}" if (row.backend, row.variant) in PICKS and row.label else ""


def payback_calls(row, baseline) -> tuple[float | None, float | None]:
    """A sparse kernel's one-off set-up (setup_ms: pattern analysis, tiling, packing) and the number of calls after
    which what each call saves against the dense baseline has paid for it (None: no set-up recorded, or no saving)."""
    setup = row.counter("setup_ms")
    if not setup:
        return None, None
    saved_ms = (baseline.time_ns - row.time_ns) * 1e-6
    return setup, (setup / saved_ms if saved_ms > 0 else None)


def gpu_roofs(rows) -> dict:
    """The GPU's measured roofs: per precision the best dense GEMM rate any row reached (cuBLASLt at its best shape:
    the tensor cores' real ceiling at that precision, below the datasheet), and HBM, the best device-to-device
    copy (read + write bytes per second) at a working set past L2."""
    peak, hbm = {}, None
    for r in rows:
        if r.error or r.device != "gpu":
            continue
        if r.family == "gemm" and r.best("flops"):
            d = dtype(r)
            if r.best("flops") > peak.get(d, (0, ""))[0]:
                peak[d] = (r.best("flops"), r.name)
        if r.family == "mem_bw" and r.variant == "d2d" and r.best("bytes_per_second") and (r.p("bytes") or 0) >= 1 << 28:
            hbm = max(hbm or 0.0, r.best("bytes_per_second"))
    return {"peak": {d: {"flops": f, "row": n} for d, (f, n) in peak.items()}, "hbm": hbm}


def gpu_verdicts(rows, roofs=None) -> list[dict]:
    """For each GPU compute row: its precision's compute roof, the HBM roof (ai x HBM bandwidth) and the share of
    the lower one it reaches. A row over either by more than ROOF_SLACK gets `above_roof` - except against HBM when
    it was timed warm with a working set that fits in L2 (then L2, not HBM, feeds it). Sparse rows count useful
    FLOPs (2 nnz N), so a 2:4 row is bounded by the dense peak of its precision like any other."""
    roofs = roofs or gpu_roofs(rows)
    out = []
    for r in rows:
        if r.error or r.device != "gpu" or r.family not in COMPUTE_FAMILIES or not r.counter("flops"):
            continue
        peak = roofs["peak"].get(dtype(r), {}).get("flops")
        mem = r.counter("ai") * roofs["hbm"] if roofs["hbm"] and r.counter("ai") else None
        warm_in_l2 = r.counter("l2_cold") == 0
        cands = [(peak, f"{dtype(r)} GEMM peak")] if peak else []
        if mem and not warm_in_l2:
            cands.append((mem, "HBM bandwidth"))
        if not cands:
            continue
        roof, bound = min(cands)
        v = {"row": r, "roof": roof, "bound": bound, "share": r.counter("flops") / roof}
        if r.family != "gemm" and r.counter("flops") > roof * (1 + ROOF_SLACK):
            v["above_roof"] = (f"{r.counter('flops') / 1e12:.1f} TFLOP/s useful is {r.counter('flops') / roof:.0%} of "
                               f"the {bound} roof ({roof / 1e12:.1f} TFLOP/s)")
        out.append(v)
    return out


def gpu_overview(rows, ctx=None) -> dict:
    """The GPU half of a run: ceilings and roofs per precision, the GEMM ladder per shape (TFLOP/s), every sparse
    row against dense at its own precision, at any precision its input allows and at any precision at all, and
    against the sparse library peer (cuSPARSE CSR, cuSPARSELt) at the same problem; rows NVML saw throttled."""
    ok = [r for r in rows if not r.error and r.device == "gpu"]
    out = {"ceilings": {}, "gemm": {}, "spmm": [], "roofs": {}, "throttled": [], "above_roof": [], "break_even": []}
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
            label += f" {r.params['inputs']}" if "inputs" in r.params else ""
            out["gemm"].setdefault(dims(r), {})[label] = r.counter("flops")
    out["roofs"] = gpu_roofs(ok)
    out["above_roof"] = [{"name": v["row"].name, "reason": v["above_roof"]} for v in gpu_verdicts(ok, out["roofs"])
                         if "above_roof" in v]
    out["throttled"] = [{"name": r.name, "label": r.label} for r in ok if r.counter("gpu_throttled")]
    # The sparse library peer (cuSPARSE CSR for FP32 weights; cuSPARSELt for 2:4) at the same problem and precision.
    peer = {(dims(r), r.params.get("pattern"), r.params.get("sparsity"), dtype(r)): r
            for r in ok if r.family == "spmm" and is_library_peer(r)}
    accepts = precision_accepts(ctx)
    for e in speedups(ok, accepts):
        r = e["row"]
        if r.family != "spmm":
            continue
        p = peer.get((dims(r), r.params.get("pattern"), r.params.get("sparsity"), dtype(r)))
        out["spmm"].append(dict(e, peer=f"{p.backend}{'/' + p.variant if p.variant else ''}" if p and p is not r else None,
                                vs_peer=p.time_ns / r.time_ns if p and p is not r else None))
    out["break_even"] = [b for b in break_evens(ok, accepts) if b["series"]]
    out["what_pays"] = gpu_what_pays(out["spmm"])
    out["pays_from"] = pays_from(out["spmm"])
    return out


def pays_from(entries) -> list[dict]:
    """Per sparse kernel, pattern, precision and sparsity measured on several problem sizes: the sizes (2 M N K,
    ascending) with the speedup over the fastest dense kernel the input allows, and the smallest size from which
    every larger measured one pays (None: the largest does not) - "2:4 in bf16 pays from 2 x 4096 x 128 x 4096 on"."""
    groups = defaultdict(list)
    for e in entries:
        groups[(e["series"], e["sparsity"])].append(e)
    out = []
    for (series, sp), es in sorted(groups.items()):
        if len({dims(e["row"]) for e in es}) < 2:
            continue
        pts = sorted(((2.0 * e["row"].p("M") * e["row"].p("N") * e["row"].p("K"), dims(e["row"]),
                       e.get("speedup_accepted", e["speedup"])) for e in es), key=lambda p: p[0])
        start = None
        for i in range(len(pts) - 1, -1, -1):
            if pts[i][2] < 1.0:
                break
            start = pts[i][1]
        out.append({"series": series, "sparsity": sp, "points": [(d, v) for _, d, v in pts], "from": start})
    return out


def _dense_label(r) -> str:
    return f"{r.backend}{'/' + r.variant if r.variant else ''} {dtype(r)}"


def gpu_what_pays(entries) -> list[dict]:
    """Per problem, pattern, sparsity and precision: the fastest sparse GPU kernel, and whether it beats dense at
    its own precision and at the fastest precision its input allows (the verdict a deployer acts on)."""
    best = {}
    for e in entries:
        r = e["row"]
        k = (dims(r), r.params.get("pattern", ""), e["sparsity"], e["dtype"])
        if k not in best or r.time_ns < best[k]["row"].time_ns:
            best[k] = e
    out = []
    for (d, pattern, sp, dt), e in sorted(best.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3])):
        acc = e.get("speedup_accepted", e["speedup"])
        out.append({"dims": d, "pattern": pattern, "sparsity": sp, "dtype": dt, "best": series_name(e["row"]),
                    "speedup": e["speedup"], "baseline": _dense_label(e["baseline"]),
                    "speedup_accepted": acc, "baseline_accepted": _dense_label(e.get("baseline_accepted", e["baseline"])),
                    "speedup_any": e.get("speedup_any"),
                    "baseline_any": _dense_label(e["baseline_any"]) if "baseline_any" in e else None,
                    "advice": f"{acc:.2f}x" if acc >= 1 else "dense is faster"})
    return out
