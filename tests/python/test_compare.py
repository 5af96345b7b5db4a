"""The regression gate's statistics on samples with known answers, and its exit codes."""
import json

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
    rc, out, _ = run_script("compare", p, p)
    assert "too few repetitions" in out
    rc, out, err = run_script("compare", fix / "gb_base.json", fix / "gb_head.json", "--delta-family", "nonsense")
    assert rc == 2 and "FAMILY=FRACTION" in err


def test_compare_warns_across_machines(fix):
    rc, out, _ = run_script("compare", fix / "cpu_only.json", fix / "gpu.json")
    assert "different machines" in out or "no benchmark in common" in out
