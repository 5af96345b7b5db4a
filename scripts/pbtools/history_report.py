"""The trend dashboard: one self-contained HTML page (plotly.js inlined once, no network) with, at the top, the open
regressions, rows that newly fail and the store's notes, then per family small multiples of every series over
commits: one panel per row, one line per machine, change points marked, commit and message on hover."""
from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from .results import write_text_atomic

PANELS_PER_FIGURE = 60
COLS = 3

CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fff; }
header { background: #1f2a44; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; }
section { padding: 8px 24px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; white-space: nowrap; }
th { background: #eef; }
.bad { color: #b00020; font-weight: bold; }
.note { color: #555; font-size: 13px; }
"""


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.4g} ms" if ns >= 1e6 else f"{ns / 1e3:.4g} us"


def _table(headers, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figures(series, commits, delta):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    machines = sorted({s.machine for s in series})
    color = {m: colors[i % len(colors)] for i, m in enumerate(machines)}
    panels = defaultdict(list)  # (profile, name) -> series of every machine
    for s in series:
        panels[(s.profile, s.name)].append(s)
    keys = sorted(panels)
    for part in range(0, len(keys), PANELS_PER_FIGURE):
        chunk = keys[part:part + PANELS_PER_FIGURE]
        nrows = (len(chunk) + COLS - 1) // COLS
        titles = [f"{p} · {n}" if len(n) < 70 else f"{p} · …{n[-68:]}" for p, n in chunk]
        fig = make_subplots(rows=nrows, cols=COLS, subplot_titles=titles, vertical_spacing=min(0.3 / nrows, 0.08),
                            horizontal_spacing=0.05)
        shown = set()
        for i, key in enumerate(chunk):
            r, c = i // COLS + 1, i % COLS + 1
            for s in panels[key]:
                med = sorted(p.time_ns for p in s.points)[len(s.points) // 2]
                x = [commits[p.sha] for p in s.points]
                y = [p.time_ns / med for p in s.points]
                hover = [f"{p.sha[:12]} {html.escape((p.subject or '')[:60])}<br>{_ms(p.time_ns)} ({p.runs} run"
                         f"{'s' * (p.runs != 1)})<br>{s.machine}" for p in s.points]
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", line=dict(color=color[s.machine], width=1),
                                         marker=dict(size=3), name=s.machine, legendgroup=s.machine,
                                         showlegend=s.machine not in shown, hovertext=hover, hoverinfo="text"),
                              row=r, col=c)
                shown.add(s.machine)
                for cp in s.change_points:
                    good, bad = s.commit_range(cp)
                    reg = cp is s.change_points[-1] and cp.step > delta
                    fig.add_trace(go.Scatter(
                        x=[commits[bad]], y=[s.points[cp.index].time_ns / med], mode="markers",
                        marker=dict(symbol="triangle-up" if cp.step > 0 else "triangle-down", size=11,
                                    color="#b00020" if cp.step > 0 else "#2e7d32",
                                    line=dict(width=1.5 if reg else 0, color="#000")),
                        showlegend=False, hoverinfo="text",
                        hovertext=f"change {cp.step:+.1%} (p={max(cp.pvalue, 0.005):.3f})<br>{good[:12]}..{bad[:12]}<br>"
                                  f"{html.escape((s.points[cp.index].subject or '')[:60])}"),
                        row=r, col=c)
        fig.update_annotations(font_size=9)
        fig.update_yaxes(tickformat=".2f", title_text="")
        fig.update_xaxes(title_text="")
        fig.update_layout(height=max(300, 190 * nrows + 40), margin=dict(l=40, r=10, t=70, b=20),
                          legend=dict(orientation="h", yref="container", y=1, yanchor="top"), template="plotly_white")
        yield fig


def write(series, failures, notes, problems, out: Path, delta: float) -> Path:
    import plotly.offline

    out.mkdir(parents=True, exist_ok=True)
    order = sorted({(p.t, p.sha) for s in series for p in s.points}, key=lambda x: (str(x[0]), x[1]))
    commits, seen = {}, 0
    for _t, sha in order:
        if sha not in commits:
            commits[sha] = seen
            seen += 1
    open_regs = []
    for s in series:
        cp = s.open_regression(delta)
        if cp:
            good, bad = s.commit_range(cp)
            open_regs.append([html.escape(s.machine), html.escape(s.profile), html.escape(s.name),
                              f"<code>{good[:12]}..{bad[:12]}</code>", f'<span class="bad">{cp.step:+.1%}</span>',
                              f"{cp.pvalue:.3f}" if cp.pvalue > 0 else "&lt;0.005", html.escape((s.points[cp.index].subject or "")[:80])])
    parts = [f"<header><h1>prunebench history</h1><div>{len(series)} series on "
             f"{len({s.machine for s in series})} machine(s), {len(commits)} commits; change points by E-Divisive "
             f"means; a panel's values are times over its own median (lower is faster)</div></header>"]
    parts.append("<section><h2>Open regressions</h2>")
    parts.append(_table(["machine", "profile", "row", "commits", "step", "p", "first commit after"], open_regs)
                 if open_regs else f"<p>None: no series' newest change point is a slowdown beyond {delta:.0%}.</p>")
    if failures:
        parts.append("<h2>Rows that newly fail</h2>" + _table(
            ["machine", "profile", "row", "since", "error"],
            [[html.escape(f["machine"]), html.escape(f["profile"]), html.escape(f["name"]), f"<code>{f['sha']}</code>",
              html.escape(str(f["error"]))] for f in failures]))
    if notes or problems:
        parts.append("<h2>Notes</h2>" + "".join(f'<div class="note">{html.escape(n)}</div>' for n in notes + problems))
    parts.append("</section>")
    by_family = defaultdict(list)
    for s in series:
        by_family[s.family].append(s)
    for fam in sorted(by_family):
        parts.append(f"<section><h2>{html.escape(fam)}</h2>")
        for fig in _figures(by_family[fam], commits, delta):
            parts.append(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))
        parts.append("</section>")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>prunebench history</title><style>{CSS}</style>"
            f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>{''.join(parts)}</body></html>")
    target = out / "index.html"
    write_text_atomic(target, page)
    return target
