"""The HTML report of a run: one self-contained page (plots embedded as data URIs, no network). Used by
scripts/report and scripts/analyze; the ceilings come in from the caller, so one analysis pass serves all."""
from __future__ import annotations

import base64
import html
import math

from . import analysis
from .results import eigen_isa_note, machine_id

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
header{background:#1d2433;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cad6;font-size:13px}main{max-width:1200px;margin:0 auto;padding:12px 32px 48px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin:18px 0;padding:16px 22px}
h2{font-size:17px;margin:0 0 10px}table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:4px 8px;border-bottom:1px solid #eceef2;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f0f2f5;position:sticky;top:0}
td.name{font-family:ui-monospace,monospace;font-size:11.5px;text-align:left;white-space:normal}
img{max-width:100%;display:block;margin:8px auto}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:8px 24px}
.kv{font-size:13px}.kv b{display:inline-block;min-width:150px;color:#566}.bar{background:#e8ebf0;border-radius:3px;height:8px;width:90px;display:inline-block;vertical-align:middle}
.bar i{display:block;height:8px;border-radius:3px;background:#d62728}.good{color:#167a3e;font-weight:600}.bad{color:#a33}
details summary{cursor:pointer;font-weight:600;margin:6px 0}.note{font-size:12px;color:#667}
"""


def vs_library(p: dict) -> str:
    """'1.23x (mkl/csr)': the library's time over the fastest pruned kernel's, or '-' where it did not run."""
    return f"{p['vs_library']:.2f}x ({p['library']})" if p.get("vs_library") else "-"


def setup_text(p: dict) -> str:
    """'1.5 ms (pays back after 12 calls)': the fastest pruned kernel's one-off set-up against what it saves per call."""
    if not p.get("setup_ms"):
        return "-"
    if not p.get("payback_calls"):
        return f"{p['setup_ms']:.2f} ms (never pays back)"
    n = max(1, math.ceil(p["payback_calls"] - 1e-9))  # whole calls: 0.1 of a call's saving still takes that call
    return f"{p['setup_ms']:.2f} ms (pays back after {n} call{'s' if n > 1 else ''})"


def esc(x):
    return html.escape(str(x))


def fmt(v, unit="", scale=1.0, prec=1):
    return "-" if v is None else f"{v / scale:.{prec}f}{unit}"


def bar(share):
    if share is None:
        return "-"
    pct = max(0.0, min(1.0, share)) * 100
    return f'<span class="bar"><i style="width:{pct:.0f}%"></i></span> {share * 100:.0f}%'


def img(path):
    return f'<img alt="{esc(path.stem)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def name_table(items, second: str) -> str:
    """A table of benchmark names and one text each (why flagged, what a library chose)."""
    trs = "".join(f"<tr><td class='name'>{esc(n)}</td><td class='name'>{esc(t)}</td></tr>" for n, t in items)
    return f"<table><tr><th>benchmark</th><th>{esc(second)}</th></tr>{trs}</table>"


def disturbed_mark(why) -> str:
    return f" <b title='{esc(why)}'>DISTURBED</b>" if why else ""


def geomean_section(groups) -> list[str]:
    """Pruned vs dense at a glance (analysis.sparse_geomeans): per family, pattern and sparsity, each backend's geomean
    speedup over dense and ours over the others."""
    if not groups:
        return []
    backends = list(dict.fromkeys(b for g in groups for b in g["speedup"]))
    others = list(dict.fromkeys(b for g in groups for b in g["ours_over"]))

    def td(v):
        return f"<td>{v[0]:.2f}x <span class='note'>({v[1]})</span></td>" if v else "<td>-</td>"

    def tr(g):
        spars = "all" if g["sparsity"] is None else f"{g['sparsity']:.2f}"
        n = g.get("disturbed", 0)
        flag = (f" <b title='on {n} of these problems a figure rests on a row measured while disturbed'>"
                f"({n} DISTURBED)</b>" if n else "")
        return (f"<tr><td>{esc(g['family'])}</td><td>{esc(g['pattern'])}</td><td>{spars}</td>"
                f"<td>{g['problems']}{flag}</td>"
                + "".join(td(g["speedup"].get(b)) for b in backends)
                + "".join(td(g["ours_over"].get(b)) for b in others) + "</tr>")
    trs = "".join(tr(g) for g in groups)
    head = "".join(f"<th>{esc(b)}</th>" for b in backends) + "".join(f"<th>{esc(analysis.OURS)} over {esc(b)}</th>"
                                                                     for b in others)
    return [f"<section><h2>Pruned vs dense, geomean</h2><p class='note'>At {groups[0]['threads']} threads, per "
            "pruning pattern and backend: the geomean over the problems (layer, shape) of its fastest kernel's "
            f"speedup over the fastest dense kernel at the same shape; then {esc(analysis.OURS)} (ours: per problem "
            "the fastest of our fixed kernels, chosen after the fact) over each other backend on the problems both "
            f"ran. {esc(analysis.PICKS_SAID)} pick among them at set-up: what a user gets without choosing. In "
            "brackets: how many problems. DISTURBED counts the problems where a figure rests on a row measured while "
            "disturbed.</p><table><tr><th>family</th><th>pattern</th><th>sparsity</th>"
            f"<th>problems</th>{head}</tr>{trs}</table></section>"]


def build(ctx, rows, pngs, c):
    """The report's sections, given the run's ceilings `c` (computed once by the caller, or stored in the JSON)."""
    parts = []
    keys = ["cpu_model", "isa", "cores", "cpu_clock_ghz", "l1d_bytes", "l2_bytes", "l3_bytes", "compiler",
            "build_type", "git_sha", "profile", "openblas_version", "openblas_coretype", "eigen_version",
            "eigen_isa", "gemm_openmp_microkernel", "omp_proc_bind", "omp_places", "gpu_name", "date"]
    kv = "".join(f'<div class="kv"><b>{esc(k)}</b> {esc(ctx[k])}</div>' for k in keys if k in ctx)
    eigen_note = eigen_isa_note(ctx)
    note = f"<p class='note'>{esc(eigen_note)}</p>" if eigen_note else ""
    parts.append(f'<section><h2>Machine</h2><div class="grid">{kv}</div>{note}</section>')

    prow = "".join(f"<tr><td>{esc(k)}</td><td>{fmt(p['flops'], ' GFLOP/s', 1e9)}</td><td>{p['threads']}</td></tr>"
                   for k, p in sorted(c["peak"].items()))
    lrow = "".join(
        f"<tr><td>{esc(lv['name'])}</td><td>{fmt(lv['latency_ns'], ' ns', 1, 2)}</td>"
        f"<td>{fmt(lv.get('latency_ns_4k_pages'), ' ns', 1, 2)}</td><td>{fmt(lv['best_bandwidth'], ' GB/s', 1e9)}</td>"
        f"<td>{esc(_h(lv['from_bytes']))} - {esc(_h(lv['to_bytes']))}</td><td>{esc(_h(lv['os_bytes']))}</td></tr>"
        for lv in c["levels"])
    if c["peak"] or any(lv["latency_ns"] or lv["best_bandwidth"] for lv in c["levels"]):  # none in a GPU-only run
        parts.append(
            "<section><h2>Ceilings (measured in this run)</h2><div class='grid'>"
            f"<div><table><tr><th>peak</th><th>FLOP/s</th><th>threads</th></tr>{prow}</table></div>"
            f"<div><table><tr><th>level</th><th>latency</th><th>4 KiB pages</th><th>best bandwidth</th>"
            f"<th>measured extent</th><th>OS size</th></tr>{lrow}</table>"
            f"<p class='note'>Levels detected from {esc(c['source'])}; a level that ends well before its OS size is a "
            "cache that behaves smaller here (shared, partitioned, or cut by a hypervisor).</p></div></div></section>")

    parts += gpu_section(ctx, analysis.gpu_overview(rows, ctx))

    for name, title in (("roofline", "Roofline"), ("roofline_gpu", "GPU roofline"), ("latency", "Latency"),
                        ("bandwidth", "Bandwidth")):
        if name in pngs:
            parts.append(f"<section><h2>{title}</h2>{img(pngs[name])}</section>")

    pays = analysis.what_pays(rows)
    if pays:
        trs = "".join(
            f"<tr><td>{esc(p['family'])} {esc('x'.join(map(str, p['dims'])))}{(' ' + esc(p['name'])) if p['name'] else ''}</td>"
            f"<td>{p['sparsity']:.2f}</td><td>{esc(p['best'])}</td><td>{esc(p['baseline'])}</td>"
            f"<td class='{'good' if p['speedup'] >= 1 else 'bad'}'>{esc(p['advice'])}"
            f"{disturbed_mark(p['disturbed'])}</td>"
            f"<td>{esc(vs_library(p))}</td><td>{esc(setup_text(p))}</td></tr>" for p in pays)
        parts.append("<section><h2>What pays here</h2><p class='note'>Per layer and sparsity, at "
                     f"{pays[0]['threads']} threads: the fastest pruned kernel against the best dense kernel at the same "
                     "shape (speedup = dense time / sparse time), and against the library a user would pick instead "
                     "on the same weights and pattern (oneMKL's SpMM; oneDNN for a convolution). A verdict that rests "
                     "on a row measured while disturbed is marked DISTURBED (hover for why): a disturbance only adds "
                     "time, so the fastest rows still decide, but the figure is less sure.</p><table><tr>"
                     "<th>layer (M x N x K)</th><th>sparsity</th>"
                     f"<th>fastest pruned kernel</th><th>best dense</th><th>speedup</th><th>vs library</th><th>set-up</th></tr>"
                     f"{trs}</table></section>")
    parts += geomean_section(analysis.sparse_geomeans(rows))
    be = analysis.break_evens(rows)
    if be:
        trs = "".join(
            f"<tr><td>{esc('x'.join(map(str, b['dims'])))}</td><td>{b['threads']}</td><td>{esc(b['series'])}</td>"
            f"<td>{esc(be_text(b['break_even']))}</td>"
            f"<td>{esc(' '.join(f'{s:.2f}:{v:.2f}x' for s, v in b['points']))}</td></tr>" for b in be)
        parts.append("<section><h2>Break-even sparsity</h2><table><tr><th>shape</th><th>threads</th><th>kernel</th>"
                     f"<th>break-even</th><th>speedup by sparsity</th></tr>{trs}</table></section>")
    if "sparsity" in pngs:
        parts.append(f"<section><h2>Sparse vs dense</h2>{img(pngs['sparsity'])}</section>")
    for name in ("ladder", "scaling"):
        if name in pngs:
            parts.append(f"<section><h2>{name.capitalize()}</h2>{img(pngs[name])}</section>")

    verdicts = analysis.verdicts(ctx, rows, c)
    flagged = analysis.above_roof(ctx, rows, c)
    if flagged:
        parts.append(f"<section><h2>Above the roof: {len(flagged)} rows</h2><p>A number above what this machine "
                     "measurably can do is a bug until explained (a wrong FLOP or byte count, the wrong thread count, "
                     "a disturbed ceiling); these rows are not used as ceilings.</p>"
                     + name_table([(f["name"], f["reason"]) for f in flagged], "why") + "</section>")
    chosen = [r for r in rows if r.label and not r.error]
    if chosen:
        parts.append(f"<section><details><summary>What the libraries chose: {len(chosen)} rows</summary><p>A library "
                     "picks its own algorithm per problem (oneDNN's implementation, cuBLASLt's algorithm and tile, "
                     "cuDNN's forward algorithm, cuSPARSE's); each row's label says which one was timed.</p>"
                     + name_table(sorted((r.name, r.label) for r in chosen), "chosen") + "</details></section>")
    disturbed = analysis.disturbed(ctx, rows)
    if disturbed:
        parts.append(f"<section><h2>Measured while disturbed: {len(disturbed)} rows</h2><p>A short canary (every "
                     "core's clock, FMA throughput on every core at once, a streaming write to DRAM) runs after "
                     "every repetition; these rows had, in the median of their repetitions, the canaries on both sides "
                     "(the FMA canary on either side) well under "
                     "the run's calm state, the host stole CPU time while they ran, or their median repetition ran "
                     "far slower than their fastest (the reason says how much). They "
                     "were measured again where scripts/bench could; what stays here is suspect, and ceilings leave "
                     "it out.</p>" + name_table([(f["name"], f["reason"]) for f in disturbed], "why") + "</section>")
    dset = {f["name"] for f in disturbed}
    fams = sorted({v["row"].family for v in verdicts})
    for fam in fams:
        trs = "".join(
            f"<tr><td class='name'>{esc(v['row'].name)}</td><td>{fmt(v['row'].time_ns, ' us', 1e3)}</td>"
            f"<td>{fmt(v['row'].counter('flops'), '', 1e9)}</td><td>{fmt(v['row'].counter('ai'), '', 1, 2)}</td>"
            f"<td>{esc(v['bound'])}{' <b>ABOVE ROOF</b>' if 'above_roof' in v else ''}"
            f"{' <b>DISTURBED</b>' if v['row'].name in dset else ''}</td><td>{bar(v['share'])}</td><td>{fmt(v['row'].counter('max_rel_err'), '', 1, 9)}</td></tr>"
            for v in verdicts if v["row"].family == fam)
        parts.append(f"<section><details {'open' if fam == 'gemm' else ''}><summary>{esc(fam)}: every row, its bound and "
                     "share of that roof</summary><table><tr><th>benchmark</th><th>time</th><th>GFLOP/s</th><th>AI</th>"
                     f"<th>bounded by</th><th>share of roof</th><th>max_rel_err</th></tr>{trs}</table></details></section>")
    errs = [r for r in rows if r.error]
    if errs:
        trs = "".join(f"<tr><td class='name'>{esc(r.name)}</td><td class='name'>{esc(r.error)}</td></tr>" for r in errs)
        parts.append(f"<section><details><summary>{len(errs)} rows not timed</summary><table>"
                     f"<tr><th>benchmark</th><th>reason</th></tr>{trs}</table></details></section>")
    return parts


def gpu_section(ctx, g):
    """Ceilings, GEMM ladder and sparse speedups of the GPU rows (their roofs are the GPU's, not the CPU's)."""
    if not (g["ceilings"] or g["gemm"] or g["spmm"]):
        return []
    c = g["ceilings"]
    items = [f"<tr><td>copy {esc(k)}{' (read + write)' if k == 'd2d' else ''}</td><td>"
             + esc(", ".join(f"{_h(b)}: {bw / 1e9:.0f} GB/s" for b, bw in curve)) + "</td></tr>"
             for k, curve in sorted(c.get("copy", {}).items())]
    if "fma_flops" in c:
        items.append(f"<tr><td>FP32 FMA peak</td><td>{c['fma_flops'] / 1e12:.1f} TFLOP/s</td></tr>")
    for k in ("launch_ns", "launch_graph_ns", "fma_ns"):
        if k in c:
            items.append(f"<tr><td>latency {esc(k[:-3])}</td><td>{c[k]:.1f} ns</td></tr>")
    if c.get("chase"):
        items.append("<tr><td>pointer chase</td><td>" + esc(", ".join(f"{_h(b)}: {ns:.0f} ns" for b, ns in c["chase"]))
                     + "</td></tr>")
    out = [f"<section><h2>GPU: {esc(ctx.get('gpu_name', '?'))}</h2><table>{''.join(items)}</table>"]
    if g["gemm"]:
        cols = sorted({k for v in g["gemm"].values() for k in v})
        trs = "".join(f"<tr><td>{esc('x'.join(map(str, d)))}</td>"
                      + "".join(f"<td>{v[k] / 1e12:.1f}</td>" if k in v else "<td>-</td>" for k in cols) + "</tr>"
                      for d, v in sorted(g["gemm"].items()))
        out.append("<h3>GEMM TFLOP/s</h3><table><tr><th>M x N x K</th>" + "".join(f"<th>{esc(k)}</th>" for k in cols)
                   + f"</tr>{trs}</table>")
    roofs = g.get("roofs") or {}
    if roofs.get("peak"):
        cells = "".join(f"<tr><td>{esc(d)}</td><td>{p['flops'] / 1e12:.1f} TFLOP/s</td><td>{esc(p['row'])}</td></tr>"
                        for d, p in sorted(roofs["peak"].items(), key=lambda kv: kv[1]["flops"]))
        if roofs.get("hbm"):
            cells += f"<tr><td>HBM</td><td>{roofs['hbm'] / 1e9:.0f} GB/s</td><td>device-to-device copy</td></tr>"
        out.append("<h3>Roofs (measured: the best dense GEMM at each precision, and HBM)</h3><table>"
                   f"<tr><th>precision</th><th>roof</th><th>from</th></tr>{cells}</table>")
    if g.get("what_pays"):
        def cls(v):
            return "good" if v >= 1 else "bad"
        trs = "".join(
            f"<tr><td>{esc('x'.join(map(str, w['dims'])))}</td><td>{esc(w['pattern'])}</td><td>{w['sparsity']:.2f}</td>"
            f"<td>{esc(w['dtype'])}</td><td>{esc(w['best'])}</td>"
            f"<td class='{cls(w['speedup'])}'>{w['speedup']:.2f}x ({esc(w['baseline'])})</td>"
            f"<td class='{cls(w['speedup_accepted'])}'>{esc(w['advice'])} ({esc(w['baseline_accepted'])})</td>"
            f"<td>{'-' if w['speedup_any'] is None else format(w['speedup_any'], '.2f') + 'x (' + esc(w['baseline_any']) + ')'}</td></tr>"
            for w in g["what_pays"])
        out.append("<h3>What pays here (GPU)</h3><p>The fastest sparse kernel per problem and precision, against the "
                   "fastest dense kernel at its own precision, at any precision its input allows (FP32 inputs: FP32 "
                   "or TF32; 16-bit: FP16 or BF16; INT8 and FP8: their own) and at any precision at all.</p><table><tr>"
                   "<th>M x N x K</th><th>pattern</th><th>sparsity</th><th>dtype</th><th>best sparse</th>"
                   f"<th>vs own precision</th><th>vs allowed precisions</th><th>vs any precision</th></tr>{trs}</table>")
    if g["spmm"]:
        def x(v):
            return "-" if v is None else f"{v:.2f}x"
        trs = "".join(
            f"<tr><td>{esc('x'.join(map(str, analysis_dims(e['row']))))}</td><td>{esc(e['series'])}</td>"
            f"<td>{e['sparsity']:.2f}</td><td>{e['row'].time_ns / 1e3:.1f} us</td>"
            f"<td class='{'good' if e['speedup'] >= 1 else 'bad'}'>{e['speedup']:.2f}x</td>"
            f"<td>{x(e.get('speedup_accepted'))}</td><td>{x(e.get('speedup_any'))}</td>"
            f"<td>{x(e.get('vs_peer'))}{' (' + esc(e['peer']) + ')' if e.get('peer') else ''}</td></tr>"
            for e in sorted(g["spmm"], key=lambda e: (analysis_dims(e["row"]), e["series"], e["sparsity"])))
        out.append("<h3>SpMM against dense at each precision, and against the sparse library</h3><table><tr><th>M x N x K"
                   "</th><th>kernel</th><th>sparsity</th><th>time</th><th>vs dense, own precision</th><th>vs allowed "
                   f"precisions</th><th>vs any precision</th><th>vs library</th></tr>{trs}</table>")
    bes = [b for b in g.get("break_even", []) if len(b["points"]) > 1]
    if bes:
        trs = "".join(f"<tr><td>{esc('x'.join(map(str, b['dims'])))}</td><td>{esc(b['series'])}</td>"
                      f"<td>{esc(be_text(b['break_even']))}</td><td>{esc(be_text(b.get('break_even_accepted')))}</td></tr>"
                      for b in bes)
        out.append("<h3>Break-even sparsity per format and precision</h3><table><tr><th>M x N x K</th><th>kernel</th>"
                   f"<th>against dense at its own precision</th><th>against any precision it allows</th></tr>{trs}</table>")
    if g.get("pays_from"):
        trs = "".join(
            f"<tr><td>{esc(p['series'])}</td><td>{p['sparsity']:.2f}</td>"
            f"<td>{esc('x'.join(map(str, p['from'])) + ' on' if p['from'] else 'not at the largest size measured')}</td>"
            f"<td>{esc(', '.join(f'{chr(120).join(map(str, d))}: {v:.2f}x' for d, v in p['points']))}</td></tr>"
            for p in g["pays_from"])
        out.append("<h3>From which size a sparse kernel pays</h3><table><tr><th>kernel</th><th>sparsity</th>"
                   f"<th>pays from</th><th>speedup by size (vs the dense precisions its input allows)</th></tr>{trs}</table>")
    if g.get("throttled"):
        out.append(f"<p class='bad'>{len(g['throttled'])} GPU rows were measured while NVML reported a slowdown "
                   "reason: " + esc(", ".join(t["name"] for t in g["throttled"][:10])) + "</p>")
    out.append("</section>")
    return ["".join(out)]


def analysis_dims(r):
    return analysis.dims(r)


def be_text(v):
    if v is None:
        return "never (in range)"
    return v if isinstance(v, str) else f"{v:.2f}"


def _h(b):
    if not b:
        return "-"
    if b >= 1 << 62:
        return "inf"
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= f:
            return f"{b / f:g} {unit}"
    return f"{b} B"




def render(ctx, rows, pngs, c) -> str:
    """The whole page."""
    body = "\n".join(build(ctx, rows, pngs, c))
    title = f"prunebench — {ctx.get('cpu_model', machine_id(ctx))}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><header><h1>{esc(title)}</h1><p>profile {esc(ctx.get('profile', '?'))}"
            f" · git {esc(ctx.get('git_sha', '?'))} · {esc(ctx.get('date', ''))} · {len(rows)} benchmarks</p></header>"
            f"<main>{body}</main></body></html>")

