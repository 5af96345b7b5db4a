"""The short text summary of a run (what scripts/summary and scripts/analyze print): ceilings, rows above a roof
or disturbed, the GEMM ladder against OpenBLAS, the GPU half, rows not timed. The ceilings come from the caller."""
from __future__ import annotations

from collections import defaultdict

from . import analysis
from .results import eigen_isa_note, geomean, is_library_peer


def print_gpu(ctx, g) -> None:
    if not (g["ceilings"] or g["gemm"] or g["spmm"]):
        return
    c = g["ceilings"]
    print(f"\nGPU: {ctx.get('gpu_name', '?')} ({ctx.get('gpu_sm_count', '?')} SMs), CUDA runtime {ctx.get('cuda_runtime', '?')}")
    for kind, curve in sorted(c.get("copy", {}).items()):  # per working set: L2-resident sizes, then HBM
        note = " (read + write)" if kind == "d2d" else ""
        print(f"  copy {kind:<13} " + ", ".join(f"{b >> 20} MiB: {bw / 1e9:.0f} GB/s" for b, bw in curve) + note)
    if "fma_flops" in c:
        print(f"  FP32 FMA peak      {c['fma_flops'] / 1e12:8.1f} TFLOP/s")
    for k in ("launch_ns", "launch_graph_ns", "fma_ns"):
        if k in c:
            print(f"  latency {k[:-3]:<10} {c[k]:8.1f} ns")
    if c.get("chase"):
        print("  pointer chase      " + ", ".join(f"{b >> 10} KiB: {ns:.0f} ns" for b, ns in c["chase"]))
    roofs = g.get("roofs") or {}
    if roofs.get("peak") or roofs.get("hbm"):
        parts = [f"{d} {p['flops'] / 1e12:.0f}" for d, p in sorted(roofs["peak"].items(), key=lambda kv: kv[1]["flops"])]
        hbm = f"; HBM {roofs['hbm'] / 1e9:.0f} GB/s" if roofs.get("hbm") else ""
        print(f"  roofs (best dense GEMM per precision, TFLOP/s): {', '.join(parts)}{hbm}")
    if "gpu_sm_clock_mhz" in ctx:
        print(f"  clocks at start: SM {ctx['gpu_sm_clock_mhz']}/{ctx.get('gpu_sm_clock_max_mhz', '?')} MHz, memory "
              f"{ctx.get('gpu_mem_clock_mhz', '?')}/{ctx.get('gpu_mem_clock_max_mhz', '?')} MHz"
              f"{' (' + ctx['gpu_clock_reasons'] + ')' if ctx.get('gpu_clock_reasons') else ''}; "
              f"L2 flush: {ctx.get('gpu_l2_flush', '?')}")
    if g["gemm"]:
        cols = sorted({k for v in g["gemm"].values() for k in v})
        print("\nGPU GEMM TFLOP/s")
        w = max(12, *(len(k) + 2 for k in cols))  # every label readable, columns apart
        print(f"  {'M x N x K':<20}" + "".join(f"{k:>{w}}" for k in cols))
        for d, v in sorted(g["gemm"].items()):
            print(f"  {'x'.join(map(str, d)):<20}" + "".join(f"{v[k] / 1e12:>{w}.1f}" if k in v else f"{'-':>{w}}" for k in cols))
    if g["spmm"]:
        print("\nGPU SpMM: speedup over the fastest dense kernel at the row's own precision, at any precision its input "
              "allows, at any precision at all; and over the sparse library at the same problem")
        for e in sorted(g["spmm"], key=lambda e: (dims_key(e["row"]), e["series"], e["sparsity"])):
            r = e["row"]
            vs = f"{e['vs_peer']:5.2f}x" if e.get("vs_peer") else "    -"
            acc = (f"{e['speedup_accepted']:5.2f}x ({e['baseline_accepted'].backend} {analysis.dtype(e['baseline_accepted'])})"
                   if "speedup_accepted" in e else "")
            anyp = (f"{e['speedup_any']:5.2f}x ({analysis.dtype(e['baseline_any'])})" if "speedup_any" in e else "")
            print(f"  {'x'.join(map(str, dims_key(r))):<18} {e['series']:<30} {e['sparsity']:.2f} "
                  f"{r.time_ns / 1e3:9.1f} us  {e['speedup']:5.2f}x  {acc:<22} {anyp:<14} {vs}")
    if g.get("what_pays"):
        print("\nGPU: what pays (fastest sparse kernel per problem and precision, against the fastest dense its input allows)")
        for w in g["what_pays"]:
            print(f"  {'x'.join(map(str, w['dims'])):<18} {w['pattern']:<10} {w['sparsity']:.2f} {w['dtype']:<5} "
                  f"{w['best']:<32} {w['advice']:>16}  (vs {w['baseline_accepted']}; own precision {w['speedup']:.2f}x)")
    bes = [b for b in g.get("break_even", []) if len(b["points"]) > 1]
    if bes:
        print("\nGPU break-even sparsity per format and precision (own precision / any precision the input allows)")
        for b in bes:
            acc = b.get("break_even_accepted", "-")
            print(f"  {'x'.join(map(str, b['dims'])):<18} {b['series']:<34} {_be(b['break_even']):>12} / {_be(acc)}")
    if g.get("pays_from"):
        print("\nGPU: from which size each sparse kernel pays (against the fastest dense its input allows, by 2MNK)")
        for p in g["pays_from"]:
            start = "x".join(map(str, p["from"])) + " on" if p["from"] else "not at the largest size measured"
            pts = ", ".join(f"{'x'.join(map(str, d))} {v:.2f}x" for d, v in p["points"])
            print(f"  {p['series']:<34} {p['sparsity']:.2f}: pays from {start}  ({pts})")
    if g.get("throttled"):
        print(f"\nGPU rows measured while NVML reported a slowdown reason: {len(g['throttled'])}")
        for t in g["throttled"][:8]:
            print(f"  {t['name']}  {t['label']}")


def dims_key(r):
    return analysis.dims(r)


def _be(v) -> str:
    if v is None:
        return "never"
    if v == "-":
        return v
    return v if isinstance(v, str) else f"{v:.2f}"


def print_sparse_geomeans(groups) -> None:
    """The pruned CPU rows in one table (analysis.sparse_geomeans): each backend's geomean speedup over dense, and
    ours over the others; a cell over fewer problems than its line says how many in brackets."""
    if not groups:
        return
    backends = list(dict.fromkeys(b for g in groups for b in g["speedup"]))
    others = list(dict.fromkeys(b for g in groups for b in g["ours_over"]))

    def cell(v, problems):
        if not v:
            return "-"
        return f"{v[0]:.2f}x" + (f" ({v[1]})" if v[1] < problems else "")
    lines = [(g, [cell(g["speedup"].get(b), g["problems"]) for b in backends]
              + [cell(g["ours_over"].get(b), g["problems"]) for b in others]) for g in groups]
    cols = backends + [f"over {b}" for b in others]
    width = [max(len(c), *(len(cells[k]) for _, cells in lines)) + 2 for k, c in enumerate(cols)]
    pw = max(9, max(len(g["pattern"]) for g in groups) + 2)
    print(f"\nPruned vs dense (CPU, {groups[0]['threads']} threads): per backend, the geomean over the problems of its "
          "fastest kernel's speedup over\nthe fastest dense kernel at the same shape; then "
          f"{analysis.OURS} (ours: per problem the fastest of our fixed kernels, chosen\nafter the fact) over each other "
          f"backend, on the problems both ran; {analysis.PICKS_SAID}\npick among them at set-up.\n"
          "(n): a cell over fewer of the line's problems")
    if any(g.get("disturbed") for g in groups):
        print("*n: on n of the line's problems a figure rests on a row measured while disturbed (the fastest rows "
              "decide\nall the same: a disturbance only adds time)")
    print(f"  {'family':<7}{'pattern':>{pw}}{'sparsity':>9}{'problems':>9}{'':4}"
          + "".join(f"{c:>{w}}" for c, w in zip(cols, width)))
    for g, cells in lines:
        spars = "all" if g["sparsity"] is None else f"{g['sparsity']:.2f}"
        mark = f" *{g['disturbed']}" if g.get("disturbed") else ""
        print(f"  {g['family']:<7}{g['pattern']:>{pw}}{spars:>9}{g['problems']:>9}{mark:<4}"
              + "".join(f"{c:>{w}}" for c, w in zip(cells, width)))


def print_summary(ctx, rows, c) -> None:
    print(f"\n== {ctx.get('cpu_model', '?')} ({ctx.get('cores', '?')} cores, {ctx.get('isa', '?')}) — "
          f"profile {ctx.get('profile', '?')}, git {ctx.get('git_sha', '?')}")
    if ctx.get("openblas_coretype"):
        print(f"   OpenBLAS {ctx.get('openblas_version')} runs {ctx.get('openblas_coretype')} kernels "
              f"(OPENBLAS_CORETYPE={ctx.get('openblas_coretype_env', 'unset')}); "
              f"our GEMM micro-kernel: {ctx.get('gemm_openmp_microkernel', '?')}")
    eigen_note = eigen_isa_note(ctx)
    if eigen_note:
        print(f"   {eigen_note}")
    if c["peak"] or any(lv["latency_ns"] for lv in c["levels"]):
        print("\nCeilings (measured):")
        for k, p in sorted(c["peak"].items()):
            print(f"  peak {k:<12} {p['flops'] / 1e9:8.1f} GFLOP/s ({p['threads']} threads)")
        for lv in c["levels"]:
            if lv["latency_ns"] is None and lv["best_bandwidth"] is None:
                continue
            lat = f"{lv['latency_ns']:6.1f} ns" if lv["latency_ns"] else "     -   "
            bw = f"{lv['best_bandwidth'] / 1e9:7.1f} GB/s" if lv["best_bandwidth"] else "      -"
            os_b = f", OS says {lv['os_bytes'] >> 10} KiB" if lv.get("os_bytes") else ""
            print(f"  {lv['name']:<10} {lat} {bw}  (up to {lv['to_bytes'] >> 10} KiB measured{os_b})")
    flagged = analysis.above_roof(ctx, rows, c)
    if flagged:
        print(f"\n{len(flagged)} rows above their roof or disturbed (a bug until explained; not used as ceilings):")
        for f in flagged[:20]:
            print(f"  {f['name']}: {f['reason']}")
    disturbed = analysis.disturbed(ctx, rows)
    if disturbed:
        print(f"\n{len(disturbed)} rows measured while the machine was disturbed (the guard's canaries beside them "
              "slowed, the host stole time, or their repetitions disagreed; ceilings leave them out; speedups "
              "that rest on them\nare marked *n):")
        for f in disturbed[:20]:
            print(f"  {f['name']}: {f['reason']}")
    errors = [r for r in rows if r.error]
    gemm = [r for r in rows if r.family == "gemm" and not r.error and r.counter("flops") and r.device != "gpu"]
    by_key = defaultdict(dict)  # (shape, threads) -> backend -> GFLOP/s
    for r in gemm:
        by_key[(r.shape, r.p("threads"))][r.backend] = r.counter("flops") / 1e9
    if by_key:
        backends = list(dict.fromkeys(r.backend for r in gemm))  # registration order: the ladder's rungs
        peer = next((r.backend for r in gemm if is_library_peer(r)), None)  # the library a user would pick
        print(f"\nGEMM GFLOP/s (ratio to {peer or 'no library'} at the same shape and threads)")
        print(f"  {'shape':<26}{'thr':>4}" + "".join(f"{b:>18}" for b in backends))
        ratios = defaultdict(list)
        for (shape, t), vals in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            ref = vals.get(peer) if peer else None
            cells = []
            for b in backends:
                v = vals.get(b)
                if v is None:
                    cells.append(f"{'-':>18}")
                    continue
                ratio = f" ({v / ref:4.2f}x)" if ref else ""
                cells.append(f"{v:>10.1f}{ratio:>8}")
                if ref:
                    ratios[(b, t)].append(v / ref)
            label = "x".join(v for _, v in shape)
            print(f"  {label:<26}{t:>4}" + "".join(cells))
        if peer:
            print(f"  geomean vs {peer}: " + ", ".join(
                f"{b}@{t}t {geomean(v):.2f}x" for (b, t), v in sorted(ratios.items()) if b != peer))
    print_sparse_geomeans(analysis.sparse_geomeans(rows))
    print_gpu(ctx, analysis.gpu_overview(rows, ctx))
    if errors:
        print(f"\n{len(errors)} rows not timed:")
        for r in errors[:20]:
            print(f"  {r.name}: {r.error}")
    print()
