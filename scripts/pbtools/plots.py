"""The figures, from result JSON alone. Every function takes a list of runs [(label, ctx, rows)] so several
machines or runs overlay (same axes, one style per run) and writes one PNG, returning its path (None when the
runs hold nothing to draw)."""
from __future__ import annotations

import math
import zlib
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import analysis  # noqa: E402
from .ceilings import compute as compute_ceilings  # noqa: E402

RUN_STYLES = ["-", "--", ":", "-."]
RUN_MARKERS = ["o", "s", "D", "v"]


_CEIL: dict = {}  # id(rows) -> ceilings, for one draw_all: computed once per run, or given by the caller


def _ceilings(ctx, rows):
    if id(rows) not in _CEIL:
        _CEIL[id(rows)] = compute_ceilings(ctx, rows)
    return _CEIL[id(rows)]


def color(backend: str) -> str:
    """A backend's colour, the same in every plot and every run, from its name alone (no list of backends here:
    a backend added to the registry gets one too)."""
    return matplotlib.colormaps["tab20"](zlib.crc32(backend.encode()) % 20)


def _save(fig, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    if fig.get_layout_engine() is None:  # a figure that chose its own layout (constrained) keeps it
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _bytes_axis(ax):
    ax.set_xscale("log", base=2)
    ticks = [2 ** e for e in range(10, 41, 2)]
    lo, hi = ax.get_xlim()
    ax.set_xticks([t for t in ticks if lo <= t <= hi])
    ax.set_xticklabels([_human(t) for t in ticks if lo <= t <= hi], rotation=45)


def _human(b: float) -> str:
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= f:
            return f"{b / f:g}{unit}"
    return f"{b:g}B"


def _roofline_axes(ax, title: str) -> None:
    """Log-log axes, labels, legend and grid shared by the CPU and GPU rooflines."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (useful FLOP / compulsory byte)")
    ax.set_ylabel("useful FLOP/s")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="both", alpha=0.2)


def roofline(runs, out: Path):
    # CPU rows only: GPU rows have their own roofs (roofline_gpu), and a CPU roof would misjudge them.
    pts = [(i, lab, r) for i, (lab, ctx, rows) in enumerate(runs) for r in rows
           if r.family in analysis.COMPUTE_FAMILIES and not r.error and r.counter("ai") and r.counter("flops")
           and r.device != "gpu"]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(9, 6))
    ais = [r.counter("ai") for _, _, r in pts]
    x = [min(ais) / 4, max(ais) * 4]
    xs = [x[0] * (x[1] / x[0]) ** (k / 64) for k in range(65)]
    for i, (lab, ctx, rows) in enumerate(runs):
        ceil = _ceilings(ctx, rows)
        top = max((p["flops"] for p in ceil["peak"].values()), default=None)
        style = RUN_STYLES[i % len(RUN_STYLES)]
        tag = f" [{lab}]" if len(runs) > 1 else ""
        for key, p in sorted(ceil["peak"].items()):
            if not key.endswith("/f32"):
                continue
            ax.plot(x, [p["flops"]] * 2, style, color=color(key.split("/")[0]), lw=1)
            ax.text(x[1], p["flops"], f" {key} peak ({p['threads']}t){tag}", fontsize=7, va="center")
        for lv in ceil["levels"]:
            if lv.get("best_bandwidth"):
                # A memory roof bends into the compute roof: min(ai x bandwidth, peak).
                y = [min(a * lv["best_bandwidth"], top) if top else a * lv["best_bandwidth"] for a in xs]
                ax.plot(xs, y, style, color="black", lw=0.8, alpha=0.5)
                knee = next((k for k, v in enumerate(y) if top and v >= top), len(xs) - 1)
                k = max(0, knee // 2)
                ax.text(xs[k], y[k], f"{lv['name']} {lv['best_bandwidth'] / 1e9:.0f} GB/s{tag}", fontsize=7,
                        rotation=0, ha="left", va="bottom", alpha=0.8)
    seen = set()
    for i, lab, r in pts:
        sparse = r.family != "gemm" and float(r.params.get("sparsity", 0) or 0) > 0
        key = (r.backend, sparse)
        ax.scatter(r.counter("ai"), r.counter("flops"), s=18, color=color(r.backend),
                   marker="^" if sparse else RUN_MARKERS[i % len(RUN_MARKERS)], alpha=0.75,
                   label=None if key in seen else f"{r.backend} {'sparse' if sparse else 'dense'}")
        seen.add(key)
    _roofline_axes(ax, "Roofline: measured compute and bandwidth roofs, every kernel row")
    return _save(fig, out, "roofline.png")


def latency(runs, out: Path):
    if not any(r.family == "mem_lat" and not r.error for _, _, rows in runs for r in rows):
        return None
    fig, ax = plt.subplots(figsize=(9, 5))
    for i, (lab, ctx, rows) in enumerate(runs):
        by = defaultdict(list)
        for r in rows:
            if r.family == "mem_lat" and not r.error and r.counter("ns_per_load"):
                by[r.variant].append((r.p("bytes"), r.counter("ns_per_load")))
        for variant, p in sorted(by.items()):
            p.sort()
            ax.plot([a for a, _ in p], [b for _, b in p], RUN_STYLES[i % 4], marker=".",
                    label=f"{variant}" + (f" [{lab}]" if len(runs) > 1 else ""))
        ceil = _ceilings(ctx, rows)
        for lv in ceil["levels"]:
            if lv.get("os_bytes") and i == 0:
                ax.axvline(lv["os_bytes"], color="grey", ls=":", lw=1)
                ax.text(lv["os_bytes"], 0.02, f" OS {lv['name']}", fontsize=7, color="grey",
                        rotation=90, va="bottom", transform=ax.get_xaxis_transform())
            if lv.get("latency_ns") and i == 0:
                ax.hlines(lv["latency_ns"], lv["from_bytes"], lv["to_bytes"], color="black", lw=3, alpha=0.3)
                ax.text(lv["from_bytes"], lv["latency_ns"], f"{lv['name']} {lv['latency_ns']:.1f} ns", fontsize=7,
                        va="bottom")
    ax.set_yscale("log")
    _bytes_axis(ax)
    ax.set_xlabel("working set")
    ax.set_ylabel("ns per load")
    ax.set_title("Load latency vs working set (detected levels shaded, OS cache sizes dotted)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.2)
    return _save(fig, out, "latency.png")


def bandwidth(runs, out: Path):
    if not any(r.family == "mem_bw" and not r.error for _, _, rows in runs for r in rows):
        return None
    ops = sorted({r.variant for _, _, rows in runs for r in rows if r.family == "mem_bw"})
    fig, axes = plt.subplots(1, len(ops), figsize=(4.2 * len(ops), 4.5), squeeze=False, sharey=True)
    for ax, op in zip(axes[0], ops):
        for i, (lab, ctx, rows) in enumerate(runs):
            by = defaultdict(list)
            for r in rows:
                if r.family == "mem_bw" and r.variant == op and not r.error and r.counter("bytes_per_second"):
                    by[(r.backend, r.p("threads"))].append((r.p("bytes"), r.counter("bytes_per_second")))
            for (b, t), p in sorted(by.items()):
                p.sort()
                ax.plot([a for a, _ in p], [v / 1e9 for _, v in p], RUN_STYLES[i % 4], marker=".", color=color(b),
                        alpha=0.5 + 0.5 * (t or 1) / max(1, max(tt or 1 for _, tt in by)),
                        label=f"{b} {t}t" + (f" [{lab}]" if len(runs) > 1 else ""))
        ax.set_yscale("log")
        _bytes_axis(ax)
        ax.set_title(op)
        ax.set_xlabel("working set")
        ax.grid(True, which="both", alpha=0.2)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("GB/s (STREAM counting)")
    fig.suptitle("Bandwidth vs working set: scalar loop, SIMD library, all cores")
    return _save(fig, out, "bandwidth.png")


MARKERS = ["o", "s", "^", "v", "D", "P", "X", "<", ">", "*", "h", "p"]


def _pattern_marker(pattern: str) -> str:
    """A pruning pattern's marker, the same in every panel and run, from its name alone."""
    return MARKERS[zlib.crc32(pattern.encode()) % len(MARKERS)]


def sparsity(runs, out: Path):
    """Speedup over the best dense kernel vs sparsity, one panel per shape and thread count. A kernel keeps its colour
    and a pattern its marker in every panel of its family (a panel can hold twenty series); every panel spans the
    same sparsities, so a layer measured at one sparsity sits where it belongs; the legends stand beside their
    panels, not over the lines. A point measured while disturbed (either row, pbtools.guard) is ringed in red."""
    groups = defaultdict(lambda: defaultdict(list))
    for i, (lab, ctx, rows) in enumerate(runs):
        for s in analysis.speedups(rows):
            r = s["row"]
            if r.params.get("pattern") == "file":
                continue
            panel = (r.family, analysis.dims(r), r.p("threads"))
            groups[panel][(i, s["series"])].append((s["sparsity"], s["speedup"], bool(s["disturbed"])))
    if not groups:
        return None
    panels = sorted(groups, key=lambda k: (k[0], str(k[1]), k[2] or 0))
    # Colours by kernel, handed out in order over each family's kernels (spmm has 14 in the default profile): tab20's
    # ten dark hues, then its ten light ones (hashing names onto 20 colours gave two kernels of one panel one colour).
    tab20 = matplotlib.colormaps["tab20"]
    kcolor = {}
    for fam in sorted({p[0] for p in panels}):
        kernels = sorted({series.partition(" ")[0] for p in panels if p[0] == fam for _, series in groups[p]})
        kcolor.update({(fam, k): tab20((2 * j) % 20 + (j // 10) % 2) for j, k in enumerate(kernels)})
    xs = [x for g in groups.values() for p in g.values() for x, _, _ in p]
    pad = max(0.02, 0.04 * (max(xs) - min(xs)))
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(7.6 * cols, 4 * nrows), squeeze=False, layout="constrained")
    for ax, panel in zip(axes.flat, panels):
        for (i, series), p in sorted(groups[panel].items()):
            p.sort()
            kernel, _, pattern = series.partition(" ")
            line, = ax.plot([a for a, _, _ in p], [b for _, b, _ in p], RUN_STYLES[i % 4],
                            color=kcolor[(panel[0], kernel)], marker=_pattern_marker(pattern), ms=4,
                            label=series + (f" [{runs[i][0]}]" if len(runs) > 1 else ""))
            bad = [(a, b) for a, b, d in p if d]
            if bad:
                ax.plot([a for a, _ in bad], [b for _, b in bad], "o", mfc="none", mec="red", ms=9, mew=1.2)
            be = analysis.break_even([(a, b) for a, b, _ in p])
            if isinstance(be, float):
                ax.plot([be], [1.0], "x", color=line.get_color(), ms=8)
        ax.axhline(1.0, color="black", lw=1)
        ax.set_yscale("log")
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        fam, d, t = panel
        ringed = any(dd for p in groups[panel].values() for _, _, dd in p)
        ax.set_title(f"{fam} {'x'.join(map(str, d))}, {t} threads"
                     + (" (red ring: measured while disturbed)" if ringed else ""), fontsize=9)
        ax.set_xlabel("sparsity")
        ax.set_ylabel("speedup over best dense")
        ax.grid(True, which="both", alpha=0.2)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("Sparse vs best dense kernel (x marks break-even)")
    return _save(fig, out, "sparsity.png")


def ladder(runs, out: Path):
    """Per GEMM shape at the largest thread count: each backend's share of the measured FP32 peak."""
    data = []
    for i, (lab, ctx, rows) in enumerate(runs):
        peaks = analysis.peak_by_threads(rows)
        gemm = [r for r in rows if r.family == "gemm" and not r.error and r.counter("flops")]
        if not gemm:
            continue
        tmax = max(r.p("threads") or 1 for r in gemm)
        peak = peaks.get(tmax) or (max(peaks.values()) if peaks else max(r.counter("flops") for r in gemm))
        for r in gemm:
            if (r.p("threads") or 1) == tmax:
                data.append((i, analysis.dims(r), r.backend, r.counter("flops") / peak, r.time_ns))
    if not data:
        return None
    shapes = sorted({d for _, d, _, _, _ in data}, key=lambda d: d[0] * d[1] * d[2])
    backends = list(dict.fromkeys(b for _, _, b, _, _ in data))  # registration order: the ladder's rungs
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(shapes) * max(1, len(runs))), 5))
    w = 0.8 / (len(backends) * len(runs))
    for j, b in enumerate(backends):
        for i in range(len(runs)):
            xs, ys = [], []
            for k, s in enumerate(shapes):
                v = [sh for ii, d, bb, sh, _ in data if ii == i and d == s and bb == b]
                if v:
                    xs.append(k + (j * len(runs) + i) * w)
                    ys.append(100 * v[0])
            ax.bar(xs, ys, w, color=color(b), alpha=1.0 - 0.35 * i,
                   label=b + (f" [{runs[i][0]}]" if len(runs) > 1 else ""))
    ax.set_xticks([k + 0.4 - w / 2 for k in range(len(shapes))])
    ax.set_xticklabels(["x".join(map(str, s)) for s in shapes], rotation=30, fontsize=8)
    ax.set_ylabel("% of measured FP32 peak (all threads)")
    ax.set_title("GEMM ladder: naive -> eigen -> openmp -> reference")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, out, "ladder.png")


def _rate(r) -> float | None:
    """What a row does per second: its useful FLOP/s or bytes/s where it counts them, else 1 / time. A ratio of
    times is no speedup for rows whose work grows with the threads (the FMA peak runs the same loop on every
    thread: its 2-thread row takes as long as its 1-thread row and does twice the work)."""
    for key in ("flops", "bytes_per_second"):
        v = r.counter(key)
        if v:
            return v
    return 1.0 / r.time_ns if r.time_ns else None


def scaling_lines(runs) -> dict:
    """(run index, "family/backend") -> {threads: speedup over 1 thread}, the ratio of the rows' rates (_rate),
    median over the shapes measured at both thread counts."""
    lines = defaultdict(dict)
    for i, (lab, ctx, rows) in enumerate(runs):
        r1 = {}
        for r in rows:
            if not r.error and r.time_ns and r.p("threads") == 1:
                r1[(r.family, r.backend, r.variant, r.shape)] = _rate(r)
        per = defaultdict(lambda: defaultdict(list))
        for r in rows:
            if r.error or not r.time_ns or r.p("threads") is None:
                continue
            base, rate = r1.get((r.family, r.backend, r.variant, r.shape)), _rate(r)
            if base and rate:
                per[f"{r.family}/{r.backend}"][r.p("threads")].append(rate / base)
        for name, byt in per.items():
            if len(byt) > 1:
                lines[(i, name)] = {t: sorted(v)[len(v) // 2] for t, v in byt.items()}
    return lines


def scaling(runs, out: Path):
    """Speedup from 1 thread to n threads, per family/backend (scaling_lines)."""
    lines = scaling_lines(runs)
    if not lines:
        return None
    fig, ax = plt.subplots(figsize=(7, 5))
    tmax = max(t for d in lines.values() for t in d)
    ax.plot([1, tmax], [1, tmax], color="black", lw=0.8, ls=":", label="ideal")
    # Colour by backend, marker by family: one backend's families (conv/openmp, gemm/openmp, ...) are told apart.
    fams = sorted({name.split("/")[0] for _, name in lines})
    fmark = {f: MARKERS[j % len(MARKERS)] for j, f in enumerate(fams)}
    for (i, name), d in sorted(lines.items()):
        ts = sorted(d)
        fam, backend = name.split("/")[:2]
        ax.plot(ts, [d[t] for t in ts], RUN_STYLES[i % 4], marker=fmark[fam], color=color(backend),
                label=name + (f" [{runs[i][0]}]" if len(runs) > 1 else ""))
    ax.set_xlabel("threads")
    ax.set_ylabel("speedup over 1 thread (median over shapes)")
    ax.set_title("Thread scaling")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    return _save(fig, out, "scaling.png")


def roofline_gpu(runs, out: Path):
    """GPU rows against the GPU's roofs: one compute roof per precision (the best dense GEMM measured at it) and
    HBM (device-to-device copy); each row drawn in its precision's colour, sparse rows as triangles."""
    pts = [(i, r) for i, (_, _, rows) in enumerate(runs) for r in rows
           if r.device == "gpu" and r.family in analysis.COMPUTE_FAMILIES and not r.error and r.counter("ai")
           and r.counter("flops")]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(9, 6))
    ais = [r.counter("ai") for _, r in pts]
    x = [min(ais) / 4, max(ais) * 4]
    xs = [x[0] * (x[1] / x[0]) ** (k / 64) for k in range(65)]
    for i, (lab, _, rows) in enumerate(runs):
        roofs = analysis.gpu_roofs(rows)
        style = RUN_STYLES[i % len(RUN_STYLES)]
        tag = f" [{lab}]" if len(runs) > 1 else ""
        for d, p in roofs["peak"].items():
            ax.plot(x, [p["flops"]] * 2, style, color=color(d), lw=1)
            ax.text(x[1], p["flops"], f" {d} {p['flops'] / 1e12:.0f} TFLOP/s{tag}", fontsize=7, va="center")
        if roofs["hbm"]:
            ax.plot(xs, [a * roofs["hbm"] for a in xs], style, color="black", lw=0.8, alpha=0.5)
            ax.text(xs[8], xs[8] * roofs["hbm"], f"HBM {roofs['hbm'] / 1e9:.0f} GB/s{tag}", fontsize=7, va="bottom")
    seen = set()
    for i, r in pts:
        sparse = r.family != "gemm" and float(r.params.get("sparsity", 0) or 0) > 0
        d = analysis.dtype(r)
        ax.scatter(r.counter("ai"), r.counter("flops"), s=18, color=color(d), alpha=0.75,
                   marker="^" if sparse else RUN_MARKERS[i % len(RUN_MARKERS)],
                   label=None if (d, sparse) in seen else f"{d} {'sparse' if sparse else 'dense'}")
        seen.add((d, sparse))
    _roofline_axes(ax, "GPU roofline: a compute roof per precision (best dense GEMM) and HBM")
    return _save(fig, out, "roofline_gpu.png")


ALL = (roofline, roofline_gpu, latency, bandwidth, sparsity, ladder, scaling)


def draw_all(runs, out: Path, ceil=None) -> list[Path]:
    """Every figure; `ceil`: the ceilings of a single run, already computed (scripts/analyze, a stored analysis)."""
    _CEIL.clear()
    if ceil is not None and len(runs) == 1:
        _CEIL[id(runs[0][2])] = ceil
    try:
        return [p for p in (f(runs, out) for f in ALL) if p]
    finally:
        _CEIL.clear()
