"""The history store: every row of every run, as plain JSON Lines files that any tool reads, queried with DuckDB.

Layout: <store>/<machine id>/<run time>-<sha>-<run id>.jsonl, one line per row of one run. A run is never
rewritten: adding writes one new file (atomically), so a CI job can keep the store on a data branch and two jobs
never touch the same file. A run's id is a digest of its measurements, so adding the same run twice (or a copy of it
under another name) adds nothing. Series are keyed by (machine id, profile, row name): two machines never share one,
even when their rows have the same names.

A line holds: run_id, machine_id, profile, git_sha, commit_time (the commit's, ISO 8601, or null when unknown),
commit_subject, run_time, name (the contract name), family, backend, variant, device, time_ns (median of the
repetitions' real time), samples_ns (every repetition; a series point is the best of them), counters (median of each numeric counter), error (null or
the row's message), disturbed (the guard's verdict) and above_roof (the roof check's).
"""
from __future__ import annotations

import hashlib
import json
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import guard
from .results import InputError, load_json, machine_id, rows as rows_of, write_text_atomic

REPO = Path(__file__).resolve().parents[2]
DEFAULT_STORE = REPO / "results" / "history"
FIELDS = {  # DuckDB column types of a store line: one schema, so a store of many machines reads as one table
    "run_id": "VARCHAR", "machine_id": "VARCHAR", "profile": "VARCHAR", "git_sha": "VARCHAR",
    "commit_time": "TIMESTAMPTZ", "commit_subject": "VARCHAR", "run_time": "TIMESTAMPTZ", "name": "VARCHAR",
    "family": "VARCHAR", "backend": "VARCHAR", "variant": "VARCHAR", "device": "VARCHAR", "time_ns": "DOUBLE",
    "samples_ns": "DOUBLE[]", "counters": "MAP(VARCHAR, DOUBLE)", "error": "VARCHAR", "disturbed": "BOOLEAN",
    "above_roof": "BOOLEAN",
}
_GUARD_COUNTERS = ("guard_clock_ghz", "guard_fma_gflops", "guard_write_gbs", "guard_c2c_ns", "guard_steal",
                   "guard_suspect")


@dataclass
class Added:
    path: Path | None  # the new file, or None when the run was already stored
    run_id: str
    machine: str
    rows: int
    new_machine: bool = False
    notes: list = field(default_factory=list)


def run_id(doc: dict) -> str:
    """Digest of the run's measurements (context and rows): the same run gives the same id however it is named."""
    key = json.dumps({"context": doc.get("context", {}), "benchmarks": doc.get("benchmarks", [])}, sort_keys=True)
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _git_commit(sha: str) -> tuple[str | None, str | None]:
    """(commit time, subject) of sha in this repository, or (None, None) when it does not know the commit."""
    try:
        r = subprocess.run(["git", "-C", str(REPO), "show", "-s", "--format=%cI%x00%s", sha + "^{commit}"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    if r.returncode != 0 or "\0" not in r.stdout:
        return None, None
    t, s = r.stdout.strip().split("\0", 1)
    return t or None, s or None


def lines_of_run(path, doc: dict, allow_dirty: bool = False) -> tuple[list[dict], list[str]]:
    """The store lines of one run, and notes for the user. InputError (one line) when the run cannot be placed in a
    history: not a prunebench run, no git_sha, a build from a modified tree, no machine id."""
    ctx = doc.get("context")
    if not isinstance(ctx, dict) or not doc.get("benchmarks"):
        raise InputError(f"{path}: not a Google Benchmark run with rows (no context or no benchmarks)")
    sha = str(ctx.get("git_sha") or "")
    if not sha or sha == "unknown":
        raise InputError(f"{path}: no git_sha in its context: a run that names no commit has no place in a history")
    if sha.endswith("-dirty") and not allow_dirty:
        raise InputError(f"{path}: built from a modified tree ({sha}): its numbers belong to no commit "
                         "(commit first, or pass --allow-dirty)")
    if not ctx.get("machine_id"):
        raise InputError(f"{path}: no machine_id in its context (prunebench writes one): cannot tell whose series it joins")
    machine = machine_id(ctx)
    notes = []
    ctime, subject = _git_commit(sha.removesuffix("-dirty"))
    if ctime is None:
        ctime = ctx.get("git_commit_time") or None
        if ctime is None:
            notes.append(f"{path}: commit {sha} unknown to this repository and no git_commit_time in the run: "
                         "ordered by its run time")
    run_time = ctx.get("date")
    profile = ctx.get("profile") or ctx.get("config_source") or "unknown"
    analysis = doc.get("prunebench_analysis", {})
    # A row flagged only for its repetitions' spread keeps its point: the point is its fastest repetition.
    disturbed = {d.get("name") for d in analysis.get("disturbed", []) if not d.get("best_holds")}
    above = {d.get("name") for d in analysis.get("above_roof", [])}
    if "prunebench_analysis" not in doc:  # not analysed (a bare binary run): apply the guard's rule here
        disturbed = {d["name"] for d in guard.disturbed(ctx, rows_of(doc)) if not d.get("best_holds")}
    rid = run_id(doc)
    out = []
    for r in rows_of(doc):
        counters = {}
        for k, vals in r.counters.items():
            if k in _GUARD_COUNTERS:
                continue
            v = [x for x in vals if isinstance(x, (int, float)) and x == x]
            if v:
                counters[k] = statistics.median(v)
        out.append({
            "run_id": rid, "machine_id": machine, "profile": profile, "git_sha": sha, "commit_time": ctime,
            "commit_subject": subject, "run_time": run_time, "name": r.name, "family": r.family,
            "backend": r.backend, "variant": r.variant, "device": r.device,
            "time_ns": r.time_ns if not r.error else None, "samples_ns": list(r.times_ns) if not r.error else [],
            "counters": counters, "error": r.error, "disturbed": r.name in disturbed, "above_roof": r.name in above,
        })
    return out, notes


def stored_run_ids(store: Path) -> set[str]:
    return {m.group(1) for f in store.glob("*/*.jsonl") if (m := re.search(r"-([0-9a-f]{16})\.jsonl$", f.name))}


def add(path, store: Path, allow_dirty: bool = False) -> Added:
    doc = load_json(path)
    lines, notes = lines_of_run(path, doc, allow_dirty)
    rid, machine = lines[0]["run_id"], lines[0]["machine_id"]
    if rid in stored_run_ids(store):
        return Added(None, rid, machine, 0, notes=notes)
    mdir = store / machine
    new_machine = not mdir.exists()
    stamp = re.sub(r"[^0-9T]", "", str(lines[0]["run_time"] or ""))[:15] or "undated"
    target = mdir / f"{stamp}-{lines[0]['git_sha'][:12]}-{rid}.jsonl"
    mdir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
    return Added(target, rid, machine, len(lines), new_machine, notes)


def check(store: Path) -> list[str]:
    """One line per store line that cannot be read (corrupt JSON, missing keys, a machine id that disagrees with
    its folder): those lines are left out of every query, the rest of the file still counts."""
    problems = []
    for f in sorted(store.glob("*/*.jsonl")):
        with open(f, encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except json.JSONDecodeError as e:
                    problems.append(f"{f}:{i}: corrupt line, left out ({e.msg})")
                    continue
                missing = [k for k in ("run_id", "machine_id", "git_sha", "name") if not d.get(k)] if isinstance(d, dict) else ["all"]
                if missing:
                    problems.append(f"{f}:{i}: line without {', '.join(missing)}, left out")
                elif d["machine_id"] != f.parent.name:
                    problems.append(f"{f}:{i}: machine {d['machine_id']} filed under {f.parent.name}, left out")
    return problems


def connect(store: Path):
    """A DuckDB connection with the view `rows`: every readable line of the store (see check() for the others)."""
    import duckdb

    con = duckdb.connect()
    if not any(store.glob("*/*.jsonl")):
        con.execute("CREATE VIEW rows AS SELECT * FROM (SELECT " + ", ".join(
            f"NULL::{t} AS {k}" for k, t in FIELDS.items()) + ", NULL::VARCHAR AS filename) WHERE false")
        return con
    cols = "{" + ", ".join(f"'{k}': '{t}'" for k, t in FIELDS.items()) + "}"
    pattern = str(store.resolve() / "*" / "*.jsonl").replace("'", "''")  # a glob: DuckDB lists the files itself
    con.execute(f"""CREATE VIEW rows AS
        SELECT * FROM read_json('{pattern}', format='newline_delimited', columns={cols}, ignore_errors=true,
                                filename=true)
        WHERE run_id IS NOT NULL AND name IS NOT NULL AND git_sha IS NOT NULL
          AND machine_id = split_part(filename, '/', -2)""")
    return con


SERIES_SQL = """
    -- One point per (series, commit): each run's best repetition (interference only ever slows a row down, so the
    -- fastest repetition is the steadiest figure: on the 2-core VM it cut the run-to-run spread and the false
    -- change points, docs/history.md), the median over that commit's runs; only rows that ran and were not
    -- disturbed; ordered by the commit's time, or the earliest run's time when the commit's is unknown.
    SELECT machine_id, profile, name, git_sha,
           min(coalesce(commit_time, run_time)) AS t,
           min(run_time) AS first_run,
           median(coalesce(list_min(samples_ns), time_ns)) AS time_ns,
           count(*) AS runs,
           any_value(commit_subject) AS subject,
           any_value(family) AS family
    FROM rows
    WHERE error IS NULL AND NOT coalesce(disturbed, false) AND time_ns > 0
    GROUP BY machine_id, profile, name, git_sha
    ORDER BY machine_id, profile, name, t, first_run
"""
