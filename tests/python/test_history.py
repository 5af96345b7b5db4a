"""scripts/history (store, change points, dashboard), scripts/history-study and scripts/bisect's input checks."""
import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest
from conftest import run_script

from pbtools import changes

ROWS = ["gemm/openmp/M:64/N:64/K:64/threads:1", "spmm/openmp/csr/M:64/N:64/K:64/sparsity:0.90/pattern:random/threads:1"]


def fake_sha(i: int) -> str:
    return hashlib.sha1(f"commit-{i}".encode()).hexdigest()[:12]


def make_run(path, i, times, machine="m-2c", sha=None, errors=(), **ctx):
    """A prunebench-like run of commit i: each row of `times` with three repetitions around its value (ms)."""
    rng = np.random.default_rng(i)
    bench = []
    for name, t in times.items():
        for rep in range(3):
            b = {"name": name + "/real_time", "run_name": name + "/real_time", "run_type": "iteration",
                 "repetitions": 3, "repetition_index": rep, "real_time": t * (1 + 0.003 * rng.standard_normal()),
                 "time_unit": "ms", "flops": 1e9}
            if name in errors:
                b = {"name": name + "/real_time", "run_name": name + "/real_time", "run_type": "iteration",
                     "error_occurred": True, "error_message": "max_rel_err 0.5 above tolerance"}
            bench.append(b)
    context = {"machine_id": machine, "git_sha": sha or fake_sha(i), "profile": "quick",
               "git_commit_time": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00",
               "date": f"2026-01-02T00:{i // 60:02d}:{i % 60:02d}+00:00", **ctx}
    context = {k: v for k, v in context.items() if v is not None}
    path.write_text(json.dumps({"context": context, "benchmarks": bench}))
    return path


def history(tmp_path, n=30, step_at=20, step=0.15, row=0, **kw):
    """n runs, one per commit, with a step on ROWS[row] from commit step_at; returns the store."""
    store = tmp_path / "store"
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        times = {r: 1.0 * (1 + 0.01 * rng.standard_normal()) for r in ROWS}
        if i >= step_at:
            times[ROWS[row]] *= 1 + step
        paths.append(make_run(tmp_path / f"run{i}.json", i, times, **kw))
    rc, out, err = run_script("history", "add", "--store", store, *paths)
    assert rc == 0, err
    return store


def test_add_is_idempotent_and_keeps_machines_apart(tmp_path):
    store = tmp_path / "store"
    run = make_run(tmp_path / "a.json", 1, {ROWS[0]: 1.0})
    rc, out, _ = run_script("history", "add", "--store", store, run)
    assert rc == 0 and "1 rows added" in out and "first run of machine m-2c" in out
    copy = tmp_path / "copy.json"
    shutil.copy(run, copy)
    rc, out, _ = run_script("history", "add", "--store", store, run, copy)
    assert rc == 0 and out.count("already in the store") == 2
    assert len(list(store.glob("*/*.jsonl"))) == 1
    other = make_run(tmp_path / "b.json", 1, {ROWS[0]: 2.0}, machine="other-4c")
    rc, out, _ = run_script("history", "add", "--store", store, other)
    assert rc == 0 and "first run of machine other-4c" in out
    rc, out, _ = run_script("history", "sql", "--store", store,
                            "SELECT machine_id, count(*) FROM rows GROUP BY 1 ORDER BY 1")
    assert rc == 0 and out.splitlines()[1:] == ["m-2c\t1", "other-4c\t1"]


@pytest.mark.parametrize("ctx,message", [
    ({"git_sha": None}, "no git_sha"),
    ({"git_sha": "abc123-dirty"}, "modified tree"),
    ({"machine_id": None}, "no machine_id"),
])
def test_add_refuses_runs_without_a_place_in_history(tmp_path, ctx, message):
    run = make_run(tmp_path / "bad.json", 1, {ROWS[0]: 1.0}, **{k: v for k, v in ctx.items() if k != "machine_id"},
                   machine=ctx.get("machine_id", "m-2c"))
    good = make_run(tmp_path / "good.json", 2, {ROWS[0]: 1.0})
    rc, out, err = run_script("history", "add", "--store", tmp_path / "s", run, good)
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "good.json: 1 rows added" in out  # the good run still goes in


def test_changes_names_the_commit_range_and_fails_on_an_open_regression(tmp_path):
    store = history(tmp_path)
    rc, out, err = run_script("history", "changes", "--store", store, "--json", tmp_path / "c.json")
    assert rc == 1, out + err
    assert f"{fake_sha(19)}..{fake_sha(20)}" in out and "REGRESSION" in out
    doc = json.loads((tmp_path / "c.json").read_text())
    [cp] = doc["change_points"]
    assert cp["name"] == ROWS[0] and cp["regression"] and 0.12 < cp["step"] < 0.18
    # The other row is flat: no change point, and a --rows filter that leaves only it passes.
    rc, out, _ = run_script("history", "changes", "--store", store, "--rows", "spmm")
    assert rc == 0 and "0 change points" in out


def test_a_speedup_is_not_a_regression(tmp_path):
    store = history(tmp_path, step=-0.2)
    rc, out, _ = run_script("history", "changes", "--store", store)
    assert rc == 0 and "faster" in out and "0 open regressions" in out


def test_corrupt_lines_are_named_and_left_out(tmp_path):
    store = history(tmp_path)
    f = sorted(store.glob("*/*.jsonl"))[3]
    with open(f, "a") as fh:
        fh.write('{"run_id": "x", "name": \n')
    rc, out, err = run_script("history", "changes", "--store", store)
    assert rc == 1 and f"{f}:3: corrupt line, left out" in err and "30 commits" in out


def test_renamed_and_newly_failing_rows_are_reported(tmp_path):
    store = history(tmp_path, n=8, step_at=99)
    renamed = {ROWS[0].replace("K:64", "K:65"): 1.0, ROWS[1]: 1.0}
    make_run(tmp_path / "r.json", 8, renamed, errors=(ROWS[1],))
    assert run_script("history", "add", "--store", store, tmp_path / "r.json")[0] == 0
    rc, out, err = run_script("history", "changes", "--store", store)
    assert rc == 1
    assert f"{ROWS[0]}: last measured at {fake_sha(7)}, not in the newest run" in err
    assert "K:65/threads:1: new in the newest run" in err
    assert f"{ROWS[1]}  FAILS since {fake_sha(8)}" in out


def test_detector_finds_a_ten_percent_step_and_nothing_in_noise():
    rng = np.random.default_rng(3)
    noise = np.exp(0.015 * rng.standard_normal(60))
    assert changes.detect(noise) == []
    stepped = noise * np.where(np.arange(60) >= 37, 1.1, 1.0)
    [cp] = changes.detect(stepped)
    assert abs(cp.index - 37) <= 1 and 0.07 < cp.step < 0.13 and cp.pvalue < 0.05
    assert changes.detect(stepped) == changes.detect(stepped)  # seeded: the same answer every time


def test_bad_flags_and_stores(tmp_path):
    rc, _, err = run_script("history", "changes", "--store", tmp_path / "none")
    assert rc == 2 and "no such store" in err
    rc, _, err = run_script("history", "changes", "--delta", "5")
    assert rc == 2 and "--delta" in err
    rc, _, err = run_script("history", "sql", "--store", history(tmp_path, n=6), "SELECT nope FROM rows")
    assert rc == 2 and "query failed" in err and len(err.strip().splitlines()) == 1


def test_report_renders_in_headless_chromium(tmp_path):
    store = history(tmp_path)
    rc, out, err = run_script("history", "report", "--store", store, "--out", tmp_path / "dash")
    assert rc == 0, err
    page = (tmp_path / "dash" / "index.html").read_text()
    assert "Open regressions" in page and fake_sha(20) in page and "<script src" not in page  # self-contained
    if shutil.which("chromium") is None:
        pytest.skip("chromium not installed")
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,900", "--virtual-time-budget=8000", (tmp_path / "dash" / "index.html").as_uri()],
                   capture_output=True, timeout=120)
    from matplotlib.image import imread
    img = imread(shot)
    assert img[10, 10, :3].max() < 0.3  # the header bar
    # The plots drew: plotly's line colour (#1f77b4) appears in the lower half of the page.
    lower = img[img.shape[0] // 2:, :, :3]
    blue = (abs(lower[..., 0] - 0x1f / 255) < 0.08) & (abs(lower[..., 1] - 0x77 / 255) < 0.08) & (abs(lower[..., 2] - 0xb4 / 255) < 0.08)
    assert blue.sum() > 200


def test_history_study_runs_on_real_shaped_runs(tmp_path):
    runs = []
    for i in range(4):
        rng = np.random.default_rng(i)
        runs.append(make_run(tmp_path / f"n{i}.json", i, {r: 1.0 + 0.01 * rng.standard_normal() for r in ROWS},
                             sha=fake_sha(0)))
    rc, out, err = run_script("history-study", *runs, "--commits", "24", "--trials", "1", "--json", tmp_path / "s.json",
                              "--store", tmp_path / "synthetic")
    assert rc == 0, err
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["rows"] == 2 and doc["found"]["0.20"]["injected"] == 2
    assert len(list((tmp_path / "synthetic").glob("*/*.jsonl"))) == 24


def test_bisect_refuses_bad_commits():
    rc, _, err = run_script("bisect", "HEAD", "no-such-commit", "--rows", "gemm")
    assert rc == 2 and "not a commit" in err
    rc, _, err = run_script("bisect", "HEAD", "HEAD~1", "--rows", "gemm")
    assert rc == 2 and "not an ancestor" in err
