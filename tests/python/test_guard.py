"""The disturbance guard: the verdict on rows from their canary counters, its effect on the ceilings and the
re-measure list, and a real run disturbed on purpose (busy loops on every core halfway through)."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_script

from pbtools import analysis, ceilings, guard, history_store
from pbtools.results import rows as rows_of

BIN = Path(__file__).resolve().parents[2] / "build" / "portable" / "bin" / "prunebench"


def bench(name, t=1e6, **counters):
    return dict({"name": name + "/real_time", "run_name": name + "/real_time", "run_type": "iteration",
                 "real_time": t, "time_unit": "ns"}, **counters)


def doc(benchmarks, **ctx):
    return {"context": dict({"prunebench_version": "0", "guard": "canary after every row"}, **ctx),
            "benchmarks": benchmarks}


def calm(name, **extra):
    return bench(name, guard_clock_ghz=2.9, guard_write_gbs=40.0, guard_steal=0.0, **extra)


def test_rows_whose_canaries_fell_or_whose_time_was_stolen_are_disturbed():
    bs = [calm(f"gemm/openmp/M:{m}/N:64/K:64/threads:1") for m in range(1, 11)]
    bs.append(bench("gemm/openmp/M:99/N:64/K:64/threads:1", guard_clock_ghz=2.5, guard_write_gbs=40.0))  # -14%
    bs.append(bench("gemm/openmp/M:98/N:64/K:64/threads:1", guard_clock_ghz=2.9, guard_write_gbs=15.0))  # -62%
    bs.append(bench("gemm/openmp/M:97/N:64/K:64/threads:1", guard_clock_ghz=2.9, guard_write_gbs=40.0, guard_steal=0.2))
    bs.append(bench("gemm/openmp/M:96/N:64/K:64/threads:1", guard_clock_ghz=2.7, guard_write_gbs=25.0))  # inside
    d = doc(bs)
    got = {x["name"]: x["reason"] for x in guard.disturbed(d["context"], rows_of(d))}
    assert set(got) == {"gemm/openmp/M:99/N:64/K:64/threads:1", "gemm/openmp/M:98/N:64/K:64/threads:1",
                        "gemm/openmp/M:97/N:64/K:64/threads:1"}
    assert "clock 2.50 GHz, 14% under the run's calm 2.90 GHz" in got["gemm/openmp/M:99/N:64/K:64/threads:1"]
    assert "memory canary 15.0 GB/s" in got["gemm/openmp/M:98/N:64/K:64/threads:1"]
    assert "stole 20%" in got["gemm/openmp/M:97/N:64/K:64/threads:1"]
    # The run's own margins win over the defaults; a run without the guard has no verdicts.
    d2 = doc(bs, guard_margin="0.2")
    assert "gemm/openmp/M:99/N:64/K:64/threads:1" not in {x["name"] for x in guard.disturbed(d2["context"], rows_of(d2))}
    d3 = doc(bs, guard="off")
    assert guard.disturbed(d3["context"], rows_of(d3)) == []


def test_rows_whose_cross_core_round_trip_grew_are_disturbed():
    """Rows of a run with two or more threads carry guard_c2c_ns (one-thread rows too: the canary runs on the run's
    threads); a round trip past 1 + c2c_margin times the run's calm one (its 10th percentile: lower is calmer) flags
    the row. A row without one (a one-thread run's) is judged on the rest."""
    bs = [calm(f"gemm/openmp/M:{m}/N:64/K:64/threads:2", guard_c2c_ns=55.0 + m) for m in range(1, 11)]
    bs.append(calm("gemm/openmp/M:99/N:64/K:64/threads:2", guard_c2c_ns=320.0))  # far placement: 5.6x
    bs.append(calm("gemm/openmp/M:98/N:64/K:64/threads:2", guard_c2c_ns=100.0))  # 1.8x: inside twice
    bs.append(calm("gemm/openmp/M:97/N:64/K:64/threads:1"))
    d = doc(bs)
    got = {x["name"]: x["reason"] for x in guard.disturbed(d["context"], rows_of(d))}
    assert set(got) == {"gemm/openmp/M:99/N:64/K:64/threads:2"}
    assert got["gemm/openmp/M:99/N:64/K:64/threads:2"] == "cross-core round trip 320 ns, 5.6x the run's calm 57 ns"
    d2 = doc(bs, guard_c2c_margin="5")
    assert guard.disturbed(d2["context"], rows_of(d2)) == []


def test_rows_whose_fma_canary_halved_are_disturbed():
    """Two vCPUs put on one physical core: the clock canary (one dependent add a cycle) stays calm while the FMA
    canary (independent chains on every core at once) halves; past fma_margin under the run's calm state (its 90th
    percentile) a row of two or more threads is flagged. A row without the counter (a file from before it) is judged
    on the rest."""
    bs = [calm(f"spmm/openmp/nm/M:{m}/threads:2", guard_fma_gflops=200.0 + m) for m in range(1, 11)]
    bs.append(calm("spmm/openmp/nm/M:99/threads:2", guard_fma_gflops=101.0))  # shared core
    bs.append(calm("spmm/openmp/nm/M:98/threads:2", guard_fma_gflops=170.0))  # 16% under: inside 25%
    bs.append(calm("spmm/openmp/nm/M:97/threads:2"))
    bs.append(calm("spmm/openmp/nm/M:96/threads:1", guard_fma_gflops=101.0))  # one thread runs at its full rate
    d = doc(bs)
    got = {x["name"]: x["reason"] for x in guard.disturbed(d["context"], rows_of(d))}
    assert got == {"spmm/openmp/nm/M:99/threads:2": "FMA canary 101 GFLOP/s, 52% under the run's calm 209 GFLOP/s"}
    d2 = doc(bs, guard_fma_margin="0.6")
    assert guard.disturbed(d2["context"], rows_of(d2)) == []


def test_rows_whose_cores_ran_under_the_shared_core_share_are_disturbed_in_a_run_spent_there():
    """A run spent wholly with two vCPUs on one core: its calm FMA state is the halved one, so only the canary's
    share against one core alone (guard_fma_share) tells; under SHARED_CORE_SHARE a row of two or more threads is
    flagged, as judge() in bench/guard.cc does."""
    bs = [calm(f"spmm/openmp/nm/M:{m}/threads:2", guard_fma_gflops=126.0, guard_fma_share=0.63) for m in range(1, 6)]
    bs.append(calm("spmm/openmp/nm/M:98/threads:2", guard_fma_gflops=126.0, guard_fma_share=0.72))
    bs.append(calm("spmm/openmp/nm/M:96/threads:1", guard_fma_gflops=126.0, guard_fma_share=0.63))
    d = doc(bs)
    got = {x["name"]: x["reason"] for x in guard.disturbed(d["context"], rows_of(d))}
    assert set(got) == {f"spmm/openmp/nm/M:{m}/threads:2" for m in range(1, 6)}
    assert got["spmm/openmp/nm/M:1/threads:2"] == (
        "FMA canary: each core at 63% of one core's rate alone (under 70%: threads sharing a core)")


def test_the_calm_round_trip_leaves_out_the_shared_core():
    """A shared core has the shortest round trip (65 ns) beside a halved FMA canary: left out of the calm round trip,
    so a near row at 140 ns is not flagged as 2.2x a calm 65 ns (the rule of calm_state in bench/guard.h)."""
    bs = [calm(f"spmm/openmp/nm/M:{m}/threads:2", guard_c2c_ns=100.0 + 10 * m, guard_fma_gflops=200.0)
          for m in range(8)]
    bs += [calm(f"spmm/openmp/nm/M:{m}/threads:1", guard_c2c_ns=65.0, guard_fma_gflops=100.0) for m in range(8, 11)]
    d = doc(bs)
    rows = rows_of(d)
    assert guard.calm_state(rows)[2] == pytest.approx(107.0)
    assert guard.calm_state(rows, 0.6)[2] == pytest.approx(65.0)
    assert guard.disturbed(d["context"], rows) == []


def test_rows_whose_median_repetition_ran_far_slower_than_their_fastest_are_disturbed():
    """Beside calm canaries: a median over 1 + spread times the fastest of three or more repetitions in one run (the
    row the Zen 3 guest measured: 5974, 10932, 10830 us). Not two repetitions (which one is right?), not a slow one
    among fast ones (the median is right), not a ceiling row (it takes its best), and runs are judged apart."""
    def reps(name, times, runs=None, **extra):
        return [dict(calm(name, **extra), real_time=t, pb_run=(runs or [0] * len(times))[i])
                for i, t in enumerate(times)]
    bs = [calm(f"gemm/openmp/M:{m}/N:64/K:64/threads:1") for m in range(1, 11)]
    bs += reps("spmm/openmp/csr_auto/M:768/N:512/K:3072/sparsity:0.80/pattern:random/threads:2",
               [5974e3, 10932e3, 10830e3])
    bs += reps("gemm/openmp/M:90/N:64/K:64/threads:1", [1e6, 1e6, 2e6])        # one slow of three: the median holds
    bs += reps("gemm/openmp/M:91/N:64/K:64/threads:1", [1e6, 3e6])             # two: no verdict
    bs += reps("gemm/openmp/M:92/N:64/K:64/threads:1", [1e6, 1.4e6, 1.45e6])   # 1.4x: inside the margin
    bs += reps("mem_bw/openmp/read/bytes:4096/threads:1", [1e6, 2e6, 2e6], bytes_per_second=1e9)  # a ceiling
    bs += reps("gemm/openmp/M:93/N:64/K:64/threads:1", [1e6, 1e6, 1e6, 2e6, 2e6, 2e6], runs=[0, 0, 0, 1, 1, 1])
    bs += reps("gemm/openmp/M:94/N:64/K:64/threads:1", [1e6, 2e6, 2e6, 1e6, 1e6, 1e6], runs=[0, 0, 0, 1, 1, 1])
    d = doc(bs)
    got = {x["name"]: x["reason"] for x in guard.disturbed(d["context"], rows_of(d))}
    assert set(got) == {"spmm/openmp/csr_auto/M:768/N:512/K:3072/sparsity:0.80/pattern:random/threads:2",
                        "gemm/openmp/M:94/N:64/K:64/threads:1"}
    assert got["spmm/openmp/csr_auto/M:768/N:512/K:3072/sparsity:0.80/pattern:random/threads:2"] == (
        "repetitions unsteady: the median took 1.81x the fastest of 3 (5974-10932 us)")
    # Its fastest repetition still holds (best_holds), so the history, which takes the fastest, keeps its point; not
    # so a row whose canaries fell as well.
    both = bs + [bench("gemm/openmp/M:95/N:64/K:64/threads:1", t, guard_clock_ghz=2.0, guard_write_gbs=40.0)
                 for t in (1e6, 2e6, 2e6)]
    d = doc(both, git_sha="0123456789ab", machine_id="test-cpu-2c")
    flags = {x["name"]: x for x in guard.disturbed(d["context"], rows_of(d))}
    assert flags["gemm/openmp/M:94/N:64/K:64/threads:1"]["best_holds"] is True
    assert "best_holds" not in flags["gemm/openmp/M:95/N:64/K:64/threads:1"]
    assert flags["gemm/openmp/M:95/N:64/K:64/threads:1"]["reason"].startswith("clock 2.00 GHz")
    lines, _ = history_store.lines_of_run("t.json", d)
    kept = {x["name"]: x["disturbed"] for x in lines}
    assert kept["gemm/openmp/M:94/N:64/K:64/threads:1"] is False
    assert kept["gemm/openmp/M:95/N:64/K:64/threads:1"] is True
    # The run's own spread wins over the default.
    d2 = doc(bs, guard_spread="1.0")
    assert guard.disturbed(d2["context"], rows_of(d2)) == []
    d3 = doc(bs, guard_spread="0.3")
    assert "gemm/openmp/M:92/N:64/K:64/threads:1" in {x["name"] for x in guard.disturbed(d3["context"], rows_of(d3))}


def test_a_disturbed_ceiling_is_left_out_and_flagged():
    bs = [calm("peak/openmp/fma/dtype:f32/threads:1", flops=100e9),
          bench("peak/openmp/fma/dtype:f32/threads:2", flops=150e9, guard_clock_ghz=1.5, guard_write_gbs=40.0)]
    bs += [calm(f"gemm/openmp/M:{m}/N:64/K:64/threads:1") for m in range(1, 11)]
    d = doc(bs)
    c = ceilings.compute(d["context"], rows_of(d))
    assert "f32/threads:2" not in c["peak_threads"]
    assert [x["row"] for x in c["suspect"]] == ["peak/openmp/fma/dtype:f32/threads:2"]
    assert c["suspect"][0]["reason"].startswith("measured while disturbed: clock 1.50 GHz")
    assert analysis.compute_roof_at(c, 2) == (200e9, "f32 1-thread peak x 2")


def test_suspects_filter_lists_disturbed_rows_ceilings_first(tmp_path):
    bs = [bench("gemm/openmp/M:99/N:64/K:64/threads:1", guard_clock_ghz=1.0, guard_write_gbs=40.0),
          bench("peak/openmp/fma/dtype:f32/threads:1", flops=100e9, guard_clock_ghz=1.0, guard_write_gbs=40.0)]
    bs += [calm(f"gemm/openmp/M:{m}/N:64/K:64/threads:1") for m in range(1, 11)]
    f = tmp_path / "r.json"
    f.write_text(json.dumps(doc(bs)))
    rc, out, err = run_script("ceilings", "--suspects", f)
    assert rc == 0, err
    assert out.strip() == ("^(peak/openmp/fma/dtype:f32/threads:1|gemm/openmp/M:99/N:64/K:64/threads:1)"
                           "/real_time$")
    rc, out, err = run_script("ceilings", "--write", f)
    assert rc == 0, err
    written = json.loads(f.read_text())["prunebench_analysis"]["disturbed"]
    assert {x["name"] for x in written} == {"gemm/openmp/M:99/N:64/K:64/threads:1", "peak/openmp/fma/dtype:f32/threads:1"}
    rc, out, err = run_script("summary", f)
    assert rc == 0, err
    assert "2 rows measured while the machine was disturbed" in out


def test_suspects_put_the_rows_the_verdicts_rest_on_before_the_rest(tmp_path):
    """After the ceilings: the dense baselines at the verdicts' thread count, then the pruned rows there, then the
    rest, each in run order; MAX_REMEASURE cuts the list, so what the verdicts rest on is measured again first."""
    slow = dict(guard_clock_ghz=1.0, guard_write_gbs=40.0)
    names = ["spmm/openmp/csr/M:64/N:64/K:64/sparsity:0.90/pattern:random/threads:1",
             "mem_bw/openmp/read/bytes:4096/threads:2",
             "spmm/openmp/csr/M:64/N:64/K:64/sparsity:0.90/pattern:random/threads:2",
             "gemm/openblas/M:64/N:64/K:64/threads:1",
             "gemm/openblas/M:64/N:64/K:64/threads:2"]
    bs = [bench(n, **slow) for n in names] + [calm(f"gemm/openmp/M:{m}/N:64/K:64/threads:1") for m in range(1, 21)]
    f = tmp_path / "r.json"
    f.write_text(json.dumps(doc(bs)))
    rc, out, err = run_script("ceilings", "--suspects", f)
    assert rc == 0, err
    got = [g.replace("\\", "") for g in out.strip()[2:-len(")/real_time$")].split("|")]  # re.escape undone
    assert got[0] == "mem_bw/openmp/read/bytes:4096/threads:2"  # a ceiling
    assert got[1:3] == [names[4], names[2]]
    assert set(got[3:]) == {names[0], names[3]}


@pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")
def test_a_real_disturbance_is_caught(tmp_path):
    """Busy loops on every core for 3 s in the middle of a run: rows measured then must be flagged (the canaries
    share the cores with the loops), and every row carries the guard's counters. Calm rows on either side keep the
    run's calm state (90th percentile) undisturbed."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"threads": [1, "cores"], "repetitions": 2, "min_time": 0.05, "naive_max_gflop": 0,
                               "peak": {"dtypes": ["f32", "f64"]},
                               "gemm": [{"M": m, "N": m, "K": m} for m in (128, 192, 256, 320, 384)]}))
    out = tmp_path / "o.json"
    proc = subprocess.Popen([str(BIN), f"--config={cfg}", f"--out={out}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(1.5)
    spinners = [subprocess.Popen(["timeout", "3", "sh", "-c", "while :; do :; done"])
                for _ in range(os.cpu_count() or 2)]
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        for s in spinners:
            s.kill()
    assert proc.returncode == 0, err
    d = json.loads(out.read_text())
    iters = [b for b in d["benchmarks"] if b.get("run_type") == "iteration"]
    assert iters and all("guard_clock_ghz" in b and "guard_fma_gflops" in b and "guard_write_gbs" in b
                         and "guard_suspect" in b for b in iters)
    assert d["context"]["guard_margin"] and d["context"]["guard_fma_margin"]
    flagged = guard.disturbed(d["context"], rows_of(d))
    assert flagged, "busy loops on every core for most of the run, and no row flagged"
    assert any(b["guard_suspect"] == 1 for b in iters)  # the binary's own verdict agrees there was something


@pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")
def test_each_repetition_carries_the_canaries_around_its_own_run(tmp_path):
    """With random interleaving Google Benchmark reports a row only after its last repetition, so canaries taken at
    reports would give every repetition the same reading, taken after the last one. Each repetition must carry the
    canaries around its own call instead, and the row's mean and median the median of those readings."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"threads": ["cores"], "repetitions": 3, "min_time": 0.01, "naive_max_gflop": 0,
                               "gemm": [{"M": m, "N": m, "K": m} for m in (64, 96)]}))
    out = tmp_path / "o.json"
    proc = subprocess.run([str(BIN), f"--config={cfg}", f"--out={out}", "--benchmark_filter=gemm/openmp/",
                           "--benchmark_enable_random_interleaving=true"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    keys = ("guard_clock_ghz", "guard_write_gbs", "guard_fma_gflops", "guard_c2c_ns")
    by_row = {}
    for b in d["benchmarks"]:
        by_row.setdefault(b["run_name"], []).append(b)
    assert len(by_row) == 2
    for name, runs in by_row.items():
        reps = [tuple(b.get(k) for k in keys) for b in runs if b["run_type"] == "iteration"]
        assert len(reps) == 3
        assert len(set(reps)) > 1, f"{name}: every repetition carries the same canary reading"
        median = next(b for b in runs if b.get("aggregate_name") == "median")
        assert median["guard_fma_gflops"] == pytest.approx(sorted(r[2] for r in reps)[1])


@pytest.mark.skipif(not BIN.exists() or not shutil.which("taskset") or (os.cpu_count() or 1) < 2,
                    reason="needs build/portable, taskset and two CPUs")
def test_a_pick_made_with_the_threads_on_one_cpu_says_so(tmp_path):
    """csr_auto's trials wait for the threads to have a core each (pb::threads_share_a_core); where they never do
    (here: two threads on one CPU), the pick is made anyway, in bounded time, and its label says so."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"threads": [2], "repetitions": 1, "min_time": 0.01,
                               "spmm": [{"M": 256, "N": 64, "K": 256, "sparsity": [0.9], "pattern": ["random"],
                                         "kernels": ["openmp/csr_auto"]}]}))
    out = tmp_path / "o.json"
    t0 = time.time()
    proc = subprocess.run(["taskset", "-c", "0", str(BIN), f"--config={cfg}", f"--out={out}"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert time.time() - t0 < 30
    row = next(b for b in json.loads(out.read_text())["benchmarks"] if "csr_auto" in b["name"])
    assert not row.get("error_occurred"), row.get("error_message")
    assert row["label"].endswith(" (threads sharing a core)"), row["label"]
