"""Rows carry their meaning: prunebench writes each row's description under "prunebench_rows", the scripts read it,
and files without it (older runs, other Google Benchmark binaries) still load from the names."""
import json
import subprocess
from pathlib import Path

import pytest

from pbtools import analysis
from pbtools.results import rows

BIN = Path(__file__).resolve().parents[2] / "build" / "portable" / "bin" / "prunebench"


@pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")
def test_every_row_is_described_and_its_name_is_built_from_the_description(tmp_path):
    out = tmp_path / "r.json"
    # Two repetitions: Google Benchmark then writes aggregates, and the cv of a constant counter (a dense conv's
    # sparsity 0) as a bare NaN, which the description must survive.
    subprocess.run([str(BIN), "--profile=quick", "--benchmark_filter=gemm/(openmp|openblas)/M:256|spmm/openmp/csr|peak/openmp|"
                    "conv/openmp/im2col/.*sparsity:0.00/threads:1", "--benchmark_repetitions=2",
                    "--benchmark_min_time=0.01s", f"--out={out}"], check=True, capture_output=True)
    doc = json.loads(out.read_text())
    meta = doc["prunebench_rows"]
    names = {b["run_name"].rsplit("/", 1)[0] for b in doc["benchmarks"]}
    assert names and names == set(meta)
    for name, m in meta.items():
        built = "/".join([m["family"], m["backend"]] + ([m["variant"]] if m["variant"] else [])
                         + [f"{k}:{v}" for k, v in m["params"].items()])
        assert built == name  # parameters in the contract's order
        assert m["device"] == "cpu"
        assert m["dense_baseline"] == (m["family"] in ("gemm", "conv"))
        assert m["library_peer"] == (m["backend"] == "openblas")  # the registry's peer for dense GEMM
    assert list(doc)[:2] == ["context", "benchmarks"]  # Google Benchmark's layout kept
    assert any(k.startswith("conv/") for k in meta) and "NaN" in out.read_text()


def _bench(name):
    return {"name": name, "run_name": name, "run_type": "iteration", "real_time": 1.0, "time_unit": "us"}


def test_the_description_wins_over_the_name():
    doc = {"benchmarks": [_bench("gemm/mylib/M:8/N:8/K:8/real_time"), _bench("conv/x/y/N:1/sparsity:0.00/real_time")],
           "prunebench_rows": {
               "gemm/mylib/M:8/N:8/K:8": {"family": "gemm", "backend": "mylib", "variant": "", "device": "gpu",
                                          "dtype": "f32", "dense_baseline": True, "params": {"M": "8", "N": "8", "K": "8"}},
               "conv/x/y/N:1/sparsity:0.00": {"family": "conv", "backend": "x", "variant": "y", "device": "cpu",
                                              "dtype": "f32", "dense_baseline": False,
                                              "params": {"N": "1", "sparsity": "0.00"}}}}
    r = {x.name: x for x in rows(doc)}
    assert r["gemm/mylib/M:8/N:8/K:8"].device == "gpu"  # a backend no script knows
    assert r["conv/x/y/N:1/sparsity:0.00"].dense_baseline is False
    base = analysis.best_dense(rows(doc))
    assert [k[0] for k in base] == ["spmm"]  # the gemm row is a baseline; the unpruned conv row is not, as described


def test_the_summary_quotes_the_registry_peer():
    from pbtools import summary_text
    import io
    from contextlib import redirect_stdout
    doc = {"benchmarks": [dict(_bench(f"gemm/{b}/M:8/N:8/K:8/threads:1/real_time"), flops=f)
                          for b, f in (("ours", 2e9), ("mylib", 1e9))],
           "prunebench_rows": {f"gemm/{b}/M:8/N:8/K:8/threads:1": {
               "family": "gemm", "backend": b, "variant": "", "device": "cpu", "dtype": "f32", "dense_baseline": True,
               "library_peer": b == "mylib", "params": {"M": "8", "N": "8", "K": "8", "threads": "1"}}
               for b in ("ours", "mylib")}}
    out = io.StringIO()
    with redirect_stdout(out):
        summary_text.print_summary({}, rows(doc), {"peak": {}, "levels": []})
    assert "ratio to mylib" in out.getvalue() and "ours@1t 2.00x" in out.getvalue()


def test_files_without_descriptions_fall_back_to_the_names():
    doc = {"benchmarks": [_bench("gemm/cublas/M:8/N:8/K:8/dtype:f32/manual_time"),
                          _bench("conv/onednn/direct/N:1/C:1/H:4/W:4/K:1/R:1/S:1/stride:1/pad:0/sparsity:0.00/threads:1/real_time")]}
    r = {x.name: x for x in rows(doc)}
    g = r["gemm/cublas/M:8/N:8/K:8/dtype:f32"]
    assert (g.device, g.dense_baseline, g.backend) == ("gpu", None, "cublas")
    c = r["conv/onednn/direct/N:1/C:1/H:4/W:4/K:1/R:1/S:1/stride:1/pad:0/sparsity:0.00/threads:1"]
    assert c.device == "cpu" and c.params["threads"] == "1"
    assert any(k[0] == "conv" for k in analysis.best_dense(rows(doc)))  # unpruned conv: a baseline by the old rule
