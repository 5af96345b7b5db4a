"""prunebench takes Google Benchmark's usual output and timing flags as any Google Benchmark binary does."""
import json
import os
import subprocess
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[2] / "build" / "portable" / "bin" / "prunebench"
ROW = "--benchmark_filter=gemm/openmp/M:256/N:256/K:256/threads:1"
pytestmark = pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")


def run(*args):
    r = subprocess.run([str(BIN), "--profile=quick", *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


@pytest.mark.parametrize("fmt", ["json", "csv", "console"])
def test_benchmark_out_writes_the_asked_format_atomically(tmp_path, fmt):
    out = tmp_path / f"o.{fmt}"
    rc, _, err = run(ROW, "--benchmark_min_time=0.01s", f"--benchmark_out={out}", f"--benchmark_out_format={fmt}")
    assert rc == 0, err
    text = out.read_text()
    assert "gemm/openmp/M:256/N:256/K:256/threads:1" in text
    if fmt == "json":
        assert json.loads(text)["benchmarks"]
    if fmt == "csv":
        assert "name,iterations,real_time" in text
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


@pytest.mark.parametrize("flag", ["--out", "--benchmark_out"])
def test_a_filter_that_matches_nothing_writes_no_file(tmp_path, flag):
    """Exit 2 with one line, and no output file: an empty one would read as a run that measured nothing."""
    rc, _, err = run("--benchmark_filter=^no-such-row$", f"{flag}={tmp_path / 'o.json'}")
    assert rc == 2 and "no benchmark matched" in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0.01s", "0.01"])
def test_min_time_in_either_form(value):
    rc, _, err = run(ROW, f"--benchmark_min_time={value}")
    assert rc == 0, err


@pytest.mark.parametrize("flag", ["--benchmark_out_format=xml", "--benchmark_min_time=abc", "--benchmark_min_time=-1s"])
def test_bad_values_are_one_line_and_exit_2(flag):
    rc, out, err = run(flag)
    assert rc == 2 and err.count("\n") == 1, err


@pytest.mark.parametrize("env, want", [({}, "22"), ({"OPENBLAS_THREAD_TIMEOUT": "26"}, "26")])
def test_openblas_workers_stop_spinning_soon_after_a_row_unless_the_user_chose(tmp_path, env, want):
    # OpenBLAS reads the timeout when it loads, so prunebench sets it through its restart (bench/context.cc).
    out = tmp_path / "o.json"
    r = subprocess.run([str(BIN), "--profile=quick", ROW, "--benchmark_min_time=0.01s", f"--benchmark_out={out}"],
                       capture_output=True, text=True, env={**os.environ, **env})
    assert r.returncode == 0, r.stderr
    ctx = json.loads(out.read_text())["context"]
    if ctx.get("openblas_version") == "not built":
        pytest.skip("built without OpenBLAS")
    assert ctx["openblas_thread_timeout"] == want
