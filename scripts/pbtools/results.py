"""Reading Google Benchmark JSON (ours or anybody's).

A prunebench run describes each row under "prunebench_rows" (family, backend, variant, device, dtype, whether it is
a dense baseline, its parameters; bench/row_spec.h): the scripts read that. Older runs and other Google Benchmark
binaries have only names, <family>/<backend>[/<variant>]/<key>:<value>/... (docs/design.md), which are parsed
instead; there a row timed with CUDA events (the /manual_time suffix) is a GPU row. Google Benchmark's time-type
suffix and aggregate names are stripped so every script sees the contract's name.
"""
from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path


class InputError(Exception):
    """A result file that cannot be used; the message is one line naming the file and the problem."""


TIME_SUFFIXES = ("/real_time", "/manual_time")
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


@dataclass
class Row:
    name: str                 # contract name, suffixes stripped
    family: str
    backend: str
    variant: str
    params: dict              # key -> str value, in name order
    times_ns: list = field(default_factory=list)  # one per repetition (real time if the row used it)
    runs: list = field(default_factory=list)      # run index of each time (scripts/abab tags merged runs)
    counters: dict = field(default_factory=dict)  # counter -> list of values, one per repetition
    error: str | None = None
    label: str = ""           # what a library chose (Google Benchmark's label), e.g. oneDNN's implementation
    device: str = "cpu"       # "gpu": measured on the GPU
    dense_baseline: bool | None = None  # from the run's row description; None: not described (older files)
    library_peer: bool | None = None    # the library a user would pick instead (OpenBLAS, oneDNN, cuBLAS, cuSPARSE)
    disturbed: str | None = None        # why the guard says it was measured while disturbed (pbtools.guard), or None

    def counter(self, key: str) -> float | None:
        vals = [v for v in self.counters.get(key, []) if v is not None and math.isfinite(v)]
        return statistics.median(vals) if vals else None

    def best(self, key: str, highest: bool = True) -> float | None:
        """The best repetition of a counter: a ceiling is what the machine can do, and a disturbed repetition
        (a neighbour on the core, a migration) only ever makes it look worse."""
        vals = [v for v in self.counters.get(key, []) if v is not None and math.isfinite(v)]
        return (max(vals) if highest else min(vals)) if vals else None

    def by_run(self) -> list[list[float]]:
        groups = {}
        for t, r in zip(self.times_ns, self.runs):
            groups.setdefault(r, []).append(t)
        return list(groups.values())

    @property
    def time_ns(self) -> float | None:
        return statistics.median(self.times_ns) if self.times_ns else None

    def p(self, key: str, cast=int):
        v = self.params.get(key)
        return None if v is None else cast(v)

    @property
    def shape(self) -> tuple:
        """The parameters that define the problem (everything but threads)."""
        return tuple((k, v) for k, v in self.params.items() if k != "threads")


def parse_name(name: str) -> tuple[str, str, str, dict]:
    for suf in TIME_SUFFIXES:
        if name.endswith(suf):
            name = name[: -len(suf)]
    parts = name.split("/")
    family = parts[0]
    plain = [p for p in parts[1:] if ":" not in p]
    params = {}
    for p in parts[1:]:
        if ":" in p:
            k, v = p.split(":", 1)
            params[k] = v
    backend = plain[0] if plain else ""
    variant = "/".join(plain[1:])
    return family, backend, variant, params


def contract_name(name: str) -> str:
    for suf in TIME_SUFFIXES:
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def load_json(path, allow_empty: bool = False) -> dict:
    """The parsed file; InputError unless it is a Google Benchmark JSON with at least one benchmark (an empty run
    has nothing to summarize or compare: a crash before the first row must not read as a clean run)."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file")
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e.__class__.__name__})")
    if not text.strip():
        raise InputError(f"{path}: empty file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON (truncated?): {e.msg} at line {e.lineno}")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise InputError(f"{path}: not a Google Benchmark JSON (no 'benchmarks' list)")
    if not isinstance(doc.get("context", {}), dict):
        raise InputError(f"{path}: not a Google Benchmark JSON ('context' is not an object)")
    if not allow_empty and not doc["benchmarks"]:
        raise InputError(f"{path}: holds no benchmarks (did the run stop before its first row?)")
    return doc


def require_prunebench(ctx: dict, path) -> None:
    """Ceilings, roofs and the report need prunebench's rows and context; another binary's JSON is refused."""
    if "prunebench_version" not in ctx:
        raise InputError(f"{path}: not a prunebench run (no prunebench_version in its context); "
                         "scripts/compare takes any Google Benchmark JSON")


_SKIP_KEYS = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads", "iterations",
              "real_time", "cpu_time", "time_unit", "family_index", "per_family_instance_index",
              "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label"}


def rows(doc: dict) -> list[Row]:
    """One Row per benchmark, repetitions gathered (aggregates are recomputed from them, never trusted)."""
    out: dict[str, Row] = {}
    meta = doc.get("prunebench_rows") if isinstance(doc.get("prunebench_rows"), dict) else {}
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or "name" not in b:
            continue
        if b.get("run_type") == "aggregate":
            continue
        full = b.get("run_name", b["name"])
        name = contract_name(full)
        row = out.get(name)
        if row is None:
            m = meta.get(name)
            if isinstance(m, dict) and isinstance(m.get("params"), dict):
                row = out[name] = Row(name, m.get("family", ""), m.get("backend", ""), m.get("variant", ""),
                                      {str(k): str(v) for k, v in m["params"].items()},
                                      device=m.get("device", "cpu"), dense_baseline=bool(m.get("dense_baseline")),
                                      library_peer=m.get("library_peer"))  # absent before df3ce10+1
            else:
                family, backend, variant, params = parse_name(name)
                row = out[name] = Row(name, family, backend, variant, params,
                                      device="gpu" if full.endswith("/manual_time") else "cpu")
        if b.get("label") and not row.label:
            row.label = str(b["label"])
        if b.get("error_occurred"):
            row.error = b.get("error_message", "error")
            continue
        use_real = True  # every prunebench family times real time; for foreign files prefer real time too
        t = b.get("real_time" if use_real else "cpu_time")
        unit = UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
        if isinstance(t, (int, float)):
            row.times_ns.append(float(t) * unit)
            row.runs.append(b.get("pb_run", 0))
        for k, v in b.items():
            if k not in _SKIP_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool):
                row.counters.setdefault(k, []).append(float(v))
    result = list(out.values())
    from . import guard  # imports nothing of ours: no cycle
    for d in guard.disturbed(doc.get("context") or {}, result):
        out[d["name"]].disturbed = d["reason"]
    return result


# Files written before rows were described (prunebench_rows) name their library peers only in the row names: for
# those alone, the peers of that time. Runs since say it themselves (KernelInfo::library_peer).
_LEGACY_PEERS = {("gemm", "openblas"), ("conv", "onednn"), ("gemm", "cublas"), ("spmm", "cusparse"), ("conv", "cudnn")}


def is_library_peer(r: Row) -> bool:
    if r.library_peer is not None:
        return r.library_peer
    return (r.family, r.backend) in _LEGACY_PEERS and (r.family != "spmm" or r.variant == "csr")


def write_text_atomic(path, text: str) -> None:
    """Writes a result file whole or not at all: a temporary file beside it, renamed into place."""
    import os
    import tempfile
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a result is for reading
    os.replace(tmp, out)


def write_json_atomic(doc: dict, path, indent: int = 2) -> None:
    write_text_atomic(path, json.dumps(doc, indent=indent))


def load(path) -> tuple[dict, list[Row]]:
    doc = load_json(path)
    return doc.get("context", {}), rows(doc)


def geomean(xs) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


_SAFE = re.compile(r"[^a-z0-9]+")


def machine_id(ctx: dict) -> str:
    """Same rule as prunebench --machine-id (CPU model + cores), plus the GPU when the run had one."""
    if "machine_id" in ctx:
        mid = ctx["machine_id"]
    else:
        model = str(ctx.get("cpu_model", ctx.get("host_name", "unknown"))).lower()
        mid = _SAFE.sub("-", model).strip("-") + f"-{ctx.get('cores', ctx.get('num_cpus', '?'))}c"
    if ctx.get("gpu_name"):
        mid += "-" + _SAFE.sub("-", str(ctx["gpu_name"]).lower()).strip("-")
    return mid


# Context keys that must agree for two runs to measure the same thing: the hardware, the build, the libraries.
COMPARABLE_KEYS = ("cpu_model", "cpu_uarch", "isa", "cores", "l1d_bytes", "l2_bytes", "l3_bytes", "gpu_name",
                   "compiler", "cxx_flags", "build_type", "openblas_version", "openblas_coretype", "onednn_version",
                   "eigen_version", "eigen_isa", "mkl_version", "isa_cap")

_ISA_RANK = {"none": 0, "sse2": 1, "avx": 2, "avx2": 3, "avx512": 4}


def eigen_isa_note(ctx: dict) -> str | None:
    """Eigen cannot pick its code path at run time: a portable build (-march=x86-64, what CI and scripts/test build)
    compiles it for SSE2, a quarter of an AVX-512 vector. Its rows then stand for an Eigen no user of this machine
    would build, and every 'over Eigen' ratio taken from them is inflated (Zen 4, DLMC at N = 512: Eigen's sparse
    product took 2.5x the time at SSE2 as at AVX-512, geomean of 24 layers, scripts/abab). None where Eigen matches
    the machine's best ISA or a PB_MAX_ISA cap is set (the cap says why)."""
    eigen, isa = ctx.get("eigen_isa"), str(ctx.get("isa", "")).split()
    if not eigen or not isa or ctx.get("isa_cap", "none") not in ("none", None):
        return None
    best = max((t[:6] if t.startswith("avx512") else t for t in isa), key=lambda t: _ISA_RANK.get(t, 0))
    if _ISA_RANK.get(eigen, 0) >= _ISA_RANK.get(best, 0):
        return None
    return (f"Eigen was compiled for {eigen} on this {best} machine (a portable build): its rows understate Eigen "
            "here; ./scripts/bench builds for this CPU")


def context_differences(base: dict, head: dict) -> list[str]:
    """'key: base X, head Y' for every comparable key both contexts record with different values."""
    out = []
    for k in COMPARABLE_KEYS:
        if k in base and k in head and str(base[k]) != str(head[k]):
            out.append(f"{k}: base {base[k]!r}, head {head[k]!r}")
    return out
