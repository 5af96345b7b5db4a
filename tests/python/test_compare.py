"""The regression gate's statistics on samples with known answers, and its exit codes."""
import json
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest

from conftest import run_script
from pbtools import stats


def test_mann_whitney_exact_p():
    # Complete separation of 5 vs 5: the exact two-sided p is 2 / C(10, 5) = 2/252.
    assert stats.mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert stats.mann_whitney_p([1, 1, 1], [1, 1, 1]) == 1.0
    assert stats.min_p(3, 3) == pytest.approx(0.1)


def test_benjamini_hochberg_known_values():
    q = stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    # sorted: 0.01*4/1, min(0.03*4/2, 0.04*4/3), 0.04*4/3, 0.20*4/4
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_ratio_ci_brackets_the_ratio_and_is_seeded():
    base = [100, 101, 99, 100.5, 99.5, 100.2]
    head = [x * 1.1 for x in base]
    r, lo, hi = stats.ratio_ci(base, head)
    assert r == pytest.approx(1.1) and lo <= r <= hi and hi - lo < 0.05
    assert stats.ratio_ci(base, head) == (r, lo, hi)


@pytest.mark.parametrize("ratio,lo,hi,q,want", [
    (1.20, 1.15, 1.25, 0.001, "REGRESSED"),
    (0.80, 0.75, 0.85, 0.001, "IMPROVED"),
    (1.01, 0.99, 1.03, 0.30, "SAME"),
    (1.02, 1.01, 1.03, 0.001, "SAME"),          # significant but inside the band
    (1.20, 0.90, 1.50, 0.20, "INCONCLUSIVE"),   # too noisy to say
    (1.03, 0.90, 1.20, 0.50, "SAME"),           # not significant, median inside the band
])
def test_verdict_rule(ratio, lo, hi, q, want):
    assert stats.verdict(ratio, lo, hi, q, delta=0.05) == want


def test_compare_flags_the_regression_and_exits_1(fix):
    rc, out, err = run_script("compare", fix / "gb_base.json", fix / "gb_head.json")
    assert rc == 1, err
    lines = {l.split()[0]: l for l in out.splitlines() if l.startswith("BM_")}
    assert lines["BM_a"].endswith("REGRESSED") and lines["BM_b"].endswith("SAME") and lines["BM_c"].endswith("IMPROVED")


def test_compare_identical_exits_0_and_formats(fix):
    rc, out, _ = run_script("compare", fix / "gb_base.json", fix / "gb_base.json", "--format", "json")
    assert rc == 0
    rep = json.loads(out)
    assert rep["summary"]["REGRESSED"] == 0 and rep["summary"]["SAME"] == 3
    rc, md, _ = run_script("compare", fix / "gb_base.json", fix / "gb_head.json", "--format", "markdown")
    assert rc == 1 and "| `BM_a` |" in md and ":red_circle: REGRESSED" in md


def test_compare_per_family_delta_and_warnings(fix, tmp_path):
    # BM_a is 20% slower: with a 30% delta for its family it is no longer a regression.
    rc, out, _ = run_script("compare", fix / "gb_base.json", fix / "gb_head.json", "--delta-family", "BM_a=0.3")
    assert rc == 0
    one = json.loads((fix / "gb_base.json").read_text())
    one["benchmarks"] = one["benchmarks"][:3]
    p = tmp_path / "three.json"
    p.write_text(json.dumps(one))
    rc, out, err = run_script("compare", p, p)  # 3 vs 3 repetitions: p >= 0.1 at best, nothing can be flagged
    assert rc == 2 and "cannot reach significance" in err and err.count("\n") == 1
    one = json.loads((fix / "gb_base.json").read_text())
    one["benchmarks"] = [b for b in one["benchmarks"] if b["name"].startswith("BM_a")][:4] + \
        [b for b in one["benchmarks"] if b["name"].startswith("BM_b")][:4]
    p.write_text(json.dumps(one))
    rc, out, _ = run_script("compare", p, p)  # 4 vs 4: p = 0.029 alone, but not after correcting for two rows
    assert rc == 0 and "too few repetitions" in out
    rc, out, err = run_script("compare", fix / "gb_base.json", fix / "gb_head.json", "--delta-family", "nonsense")
    assert rc == 2 and "FAMILY=FRACTION" in err


def test_compare_warns_when_the_contexts_differ(tmp_path):
    same = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 100.1, 99.9]
    zen3 = {"machine_id": "amd-epyc-zen3-2c", "cpu_uarch": "zen3", "isa": "avx2 fma avx sse2", "l2_bytes": "524288"}
    zen4 = {"machine_id": "amd-epyc-zen4-2c", "cpu_uarch": "zen4", "isa": "avx512f avx2 fma avx sse2", "l2_bytes": "1048576"}
    b, h = tmp_path / "b.json", tmp_path / "h.json"
    for p, ctx in ((b, zen3), (h, zen4)):
        p.write_text(json.dumps({"context": ctx, "benchmarks": [
            {"name": "BM_a/real_time", "run_type": "iteration", "real_time": t, "time_unit": "us"} for t in same]}))
    rc, out, _ = run_script("compare", b, h)
    assert rc == 0 and "different machines" in out and "cpu_uarch: base 'zen3', head 'zen4'" in out and "l2_bytes" in out


def test_compare_warns_when_the_host_placed_the_cores_differently(tmp_path):
    """The guard's cross-core round trip, median over each run's rows: 55 against 320 ns is a different placement
    of the vCPUs (a warning); 55 against 70 ns, or a run without the counter, is not."""
    same = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 100.1, 99.9]
    ctx = {"machine_id": "amd-epyc-zen4-2c"}

    def write(path, c2c):
        extra = {"guard_c2c_ns": c2c} if c2c else {}
        path.write_text(json.dumps({"context": ctx, "benchmarks": [
            dict({"name": "BM_a/real_time", "run_type": "iteration", "real_time": t, "time_unit": "us"}, **extra)
            for t in same]}))
    b, far, near, none = (tmp_path / f"{n}.json" for n in ("b", "far", "near", "none"))
    write(b, 55.0), write(far, 320.0), write(near, 70.0), write(none, None)
    rc, out, _ = run_script("compare", b, far)
    assert rc == 0 and "median cross-core round trip base 55 ns, head 320 ns" in out
    for head in (near, none):
        rc, out, _ = run_script("compare", b, head)
        assert rc == 0 and "placed the cores differently" not in out


def test_compare_placement_leaves_out_the_shared_core(tmp_path):
    """Two-thread repetitions measured with both vCPUs on one core (FMA canary 100 against 200 GFLOP/s, round trip
    65 ns, the shortest) ran base 2.5x slower, head not: --placement near keeps neither file's (SAME), and the calm
    round trip is the near one's (55 ns), so the 100 ns repetitions stay near. A one-thread row keeps them."""
    ctx = {"machine_id": "amd-epyc-zen3-2c"}
    jitter = [1.0, 1.01, 0.99, 1.005, 0.995, 1.002, 0.998, 1.001]

    def write(path, shared_time):
        reps = []
        for name in ("BM_spmm/threads:2", "BM_one/threads:1"):
            for i, j in enumerate(jitter * 3):
                shared = i % 3 == 2
                reps.append({"name": name + "/real_time", "run_type": "iteration", "time_unit": "us",
                             "real_time": (shared_time if shared and "threads:2" in name else 100.0) * j,
                             "guard_c2c_ns": 65.0 if shared else (55.0 if i % 3 == 0 else 100.0),
                             "guard_fma_gflops": 100.0 if shared else 200.0})
        path.write_text(json.dumps({"context": ctx, "benchmarks": reps}))
    b, h = tmp_path / "b.json", tmp_path / "h.json"
    write(b, 250.0), write(h, 100.0)
    rc, out, _ = run_script("compare", b, h, "--placement", "near", "--format", "json")
    assert rc == 0, out
    got = {r["name"]: r for r in json.loads(out)["results"]}
    assert got["BM_spmm/threads:2"]["verdict"] == "SAME" and got["BM_spmm/threads:2"]["n_head"] == 16
    assert got["BM_one/threads:1"]["n_head"] == 24
    rc, out, _ = run_script("compare", b, h, "--format", "json")  # without --placement: every repetition
    assert {r["name"]: r["n_base"] for r in json.loads(out)["results"]}["BM_spmm/threads:2"] == 24


def test_compare_placement_keeps_the_repetitions_of_one_placement(tmp_path):
    """Runs that caught both placements: base 3x slower whenever the vCPUs sat apart (round trip 320 ns against 55),
    head not. --placement near compares the close repetitions (SAME), far the apart ones (IMPROVED); files without
    round trips are refused (exit 2)."""
    ctx = {"machine_id": "amd-epyc-zen4-2c"}
    jitter = [1.0, 1.01, 0.99, 1.005, 0.995, 1.002, 0.998, 1.001]

    def write(path, far_time, c2c=True):
        reps = []
        for i, j in enumerate(jitter * 2):
            far = i % 2 == 1
            rep = {"name": "BM_conv/real_time", "run_type": "iteration", "time_unit": "us",
                   "real_time": (far_time if far else 100.0) * j}
            if c2c:
                rep["guard_c2c_ns"] = (320.0 if far else 55.0) * j
            reps.append(rep)
        path.write_text(json.dumps({"context": ctx, "benchmarks": reps}))
    b, h, bare = tmp_path / "b.json", tmp_path / "h.json", tmp_path / "bare.json"
    write(b, 300.0), write(h, 100.0), write(bare, 100.0, c2c=False)
    rc, out, _ = run_script("compare", b, h, "--placement", "near")
    assert rc == 0 and out.splitlines()[1].split()[0] == "BM_conv" and out.splitlines()[1].endswith("SAME")
    rc, out, _ = run_script("compare", b, h, "--placement", "far")
    assert rc == 0 and out.splitlines()[1].endswith("IMPROVED") and " 0.333 " in out.splitlines()[1]
    rc, _, err = run_script("compare", b, bare, "--placement", "far")  # the only row left out of both: nothing left
    assert rc == 2 and "no benchmark in common" in err
    rc, _, err = run_script("compare", bare, bare, "--placement", "far")
    assert rc == 2 and "neither file has cross-core round trips" in err and err.count("\n") == 1


def test_compare_auto_refuses_a_baseline_from_another_cpu(tmp_path):
    """The committed Zen 3 baseline against a run from a Zen 4 that once shared its id: exit 2 unless --force."""
    import shutil
    root = Path(__file__).resolve().parents[2]
    base = json.loads((root / "results/baselines/amd-epyc-zen3-2c.json").read_text())
    head = json.loads(json.dumps(base))
    head["context"].update(isa="avx512f avx2 fma avx sse2", l2_bytes="1048576")  # as Zen 4 (same id by mistake)
    h = tmp_path / "h.json"
    h.write_text(json.dumps(head))
    rc, out, err = run_script("compare", "auto", h)
    assert rc == 2 and "another machine or build" in err and "isa" in err and err.count("\n") == 1
    rc, out, err = run_script("compare", "auto", h, "--force")
    assert rc in (0, 1) and "the runs differ in isa" in out


def test_paired_ratio_ci_is_the_order_statistic_interval():
    # 12 pairs: k = 3 (P(Binomial(12, 1/2) <= 2) = 0.019 <= 0.025 < P(<= 3)), so the interval runs from the 3rd
    # smallest to the 3rd largest log ratio, and covers the median with probability 96%.
    xs = [0.01 * i for i in range(-5, 7)]
    r, lo, hi = stats.paired_ratio_ci(xs)
    assert r == pytest.approx(math.exp(0.005)) and lo == pytest.approx(math.exp(-0.03)) and hi == pytest.approx(math.exp(0.04))
    r, lo, hi = stats.paired_ratio_ci([0.1, 0.2, 0.3])  # too few pairs for 95%: the whole range
    assert (lo, hi) == (pytest.approx(math.exp(0.1)), pytest.approx(math.exp(0.3)))


def test_signed_rank_p_exact():
    assert stats.signed_rank_p([0.1 + 0.01 * i for i in range(12)]) == pytest.approx(2 / 4096)
    assert stats.min_p_paired(12) == pytest.approx(2 / 4096)
    assert stats.signed_rank_p([0.0, 0.0, 0.0]) == 1.0


def _paired_docs(tmp_path, head_factor, paired=True):
    """12 rounds of one row; the machine's speed jumps by up to 2x between rounds (as this VM does), the two
    sides of a round see the same speed, and the head is head_factor slower."""
    rng = random.Random(3)
    docs = {}
    for side, f in (("base", 1.0), ("head", head_factor)):
        rng.seed(3)
        ctx = {"machine_id": "m", **({"pb_interleave": "row"} if paired else {})}
        bms = []
        for r in range(12):
            speed = rng.choice([1.0, 1.3, 1.7, 2.0])
            bms.append({"name": "gemm/openmp/M:8/N:8/K:8/threads:1/real_time", "run_type": "iteration",
                        "real_time": 100.0 * speed * f * (1 + 0.01 * ((r * 7) % 5 - 2)), "time_unit": "us", "pb_run": r})
        p = tmp_path / f"{side}{'-paired' if paired else ''}.json"
        p.write_text(json.dumps({"context": ctx, "benchmarks": bms}))
        docs[side] = p
    return docs["base"], docs["head"]


def test_pairs_see_through_drift_that_hides_a_regression_from_pooled_samples(tmp_path):
    b, h = _paired_docs(tmp_path, 1.10)
    rc, out, _ = run_script("compare", b, h, "--format", "json")
    rep = json.loads(out)
    assert rc == 1 and rep["paired"] and rep["results"][0]["verdict"] == "REGRESSED"
    assert rep["results"][0]["ratio"] == pytest.approx(1.10, rel=0.01)
    # The same measurements without the pairing: the drift swamps the 10% and nothing can be said.
    b, h = _paired_docs(tmp_path, 1.10, paired=False)
    rc, out, _ = run_script("compare", b, h, "--format", "json")
    assert rc == 0 and json.loads(out)["results"][0]["verdict"] != "REGRESSED"
    # And identical code stays SAME through the same drift.
    b, h = _paired_docs(tmp_path, 1.0)
    rc, out, _ = run_script("compare", b, h, "--format", "json")
    assert rc == 0 and json.loads(out)["results"][0]["verdict"] == "SAME"


BIN = Path(__file__).resolve().parents[2] / "build" / "portable" / "bin" / "prunebench"


@pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")
def test_abab_row_mode_pairs_the_two_builds(tmp_path):
    rc, out, err = run_script("abab", BIN, BIN, "--rounds", "2", "--out", tmp_path, "--", "--profile=quick",
                              "--benchmark_filter=gemm/openmp/M:256/N:256/K:256/threads:1")
    for side in ("base", "head"):
        doc = json.loads((tmp_path / f"{side}.json").read_text())
        assert doc["context"]["pb_interleave"] == "row"
        assert sorted(b["pb_run"] for b in doc["benchmarks"]) == [0, 1]
    # Two pairs cannot make anything significant: the gate says so and exits 2 rather than passing.
    assert rc == 2 and "cannot reach significance" in err


@pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")
@pytest.mark.parametrize("every,processes", [(1, 3), (3, 1)])
def test_abab_restarts_the_servers_every_r_rounds(tmp_path, every, processes):
    rc, out, err = run_script("abab", BIN, BIN, "--rounds", "3", "--restart-every", str(every), "--out", tmp_path, "--",
                              "--profile=quick", "--benchmark_filter=gemm/openmp/M:256/N:256/K:256/threads:1")
    assert rc == 2 and "cannot reach significance" in err  # 3 pairs: too few to flag anything
    for side in ("base", "head"):
        rows = json.loads((tmp_path / f"{side}.json").read_text())["benchmarks"]
        assert len({b["pb_pid"] for b in rows}) == processes


@pytest.mark.skipif(not BIN.exists() or (os.cpu_count() or 1) < 2,
                    reason="needs build/portable and two cores (the round trip runs between two threads)")
def test_abab_pairs_carry_the_guards_round_trip_so_placement_can_split_them(tmp_path):
    rc, out, err = run_script("abab", BIN, BIN, "--rounds", "2", "--out", tmp_path, "--", "--profile=quick",
                              "--benchmark_filter=gemm/openmp/M:256/N:256/K:256/threads:2")
    reps = []
    for side in ("base", "head"):
        rows = json.loads((tmp_path / f"{side}.json").read_text())["benchmarks"]
        assert len(rows) == 2 and all(b.get("guard_c2c_ns", 0) > 0 and b.get("guard_fma_gflops", 0) > 0 for b in rows)
        reps += rows
    rc, out, err = run_script("compare", tmp_path / "base.json", tmp_path / "head.json", "--placement", "near")
    # Kept unless the host put both vCPUs on one core (FMA canary under 0.75 of its 90th percentile) or apart (round
    # trip over twice its 10th percentile) for some of them, as happens on the 2-vCPU guests here.
    fma, c2c = [b["guard_fma_gflops"] for b in reps], [b["guard_c2c_ns"] for b in reps]
    if min(fma) >= 0.75 * float(np.quantile(fma, 0.9)) and max(c2c) <= 2 * float(np.quantile(c2c, 0.1)):
        assert rc == 2 and "cannot reach significance" in err  # the pairs were kept, and two are too few
    else:
        assert rc == 2 and ("cannot reach significance" in err or "no benchmark in common" in err)


def test_abab_rejects_a_zero_restart_interval():
    rc, _, err = run_script("abab", "/bin/true", "/bin/true", "--restart-every", "0")
    assert rc == 2 and "--restart-every" in err


def _gb(tmp_path, name, rows):
    """A Google Benchmark JSON: rows maps benchmark name -> list of times (us), or an error message."""
    bms = []
    for n, v in rows.items():
        if isinstance(v, str):
            bms.append({"name": n + "/real_time", "run_type": "iteration", "error_occurred": True, "error_message": v,
                        "real_time": 0, "time_unit": "us"})
        else:
            bms += [{"name": n + "/real_time", "run_type": "iteration", "real_time": t, "time_unit": "us"} for t in v]
    p = tmp_path / name
    p.write_text(json.dumps({"context": {"machine_id": "m"}, "benchmarks": bms}))
    return p


@pytest.mark.parametrize("head_b", ["verification failed: max_rel_err=0.3", None])
def test_a_head_row_that_errors_or_disappears_fails_the_gate(tmp_path, head_b):
    same = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 100.1, 99.9]
    base = _gb(tmp_path, "base.json", {"BM_a": same, "BM_b": same})
    head = _gb(tmp_path, "head.json", {"BM_a": same, **({"BM_b": head_b} if head_b else {})})
    rc, out, err = run_script("compare", base, head, "--format", "json")
    rep = json.loads(out)
    want = "FAILED" if head_b else "MISSING"
    assert rc == 1, err
    assert rep["summary"][want] == 1 and rep["broken"][0]["name"] == "BM_b"
    rc, out, _ = run_script("compare", base, head)
    assert rc == 1 and f"{want}" in out
    rc, out, _ = run_script("compare", base, head, "--format", "markdown")
    assert rc == 1 and want in out


def test_zero_benchmark_files_exit_2(tmp_path):
    p = tmp_path / "empty.json"
    p.write_text(json.dumps({"context": {"prunebench_version": "0.1.0"}, "benchmarks": []}))
    for script in ("summary", "ceilings", "report", "compare"):
        rc, out, err = run_script(script, *([p, p] if script == "compare" else [p]))
        assert rc == 2 and "no benchmarks" in err and err.count("\n") == 1, (script, err)


def test_foreign_files_exit_2_where_prunebench_rows_are_needed(fix):
    for script in ("summary", "ceilings", "report"):
        rc, out, err = run_script(script, fix / "gb_base.json")
        assert rc == 2 and "not a prunebench run" in err, (script, err)
