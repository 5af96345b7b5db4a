"""The committed reference runs are what a user trusts first: no row of a CPU reference measured with today's
harness may sit above its roof, and the analysis block stored in it agrees with a fresh analysis."""
import json
from pathlib import Path

import pytest

from pbtools import analysis, ceilings
from pbtools.results import load

REF = Path(__file__).resolve().parents[2] / "results" / "reference"
# Runs from before the trust fixes (oneDNN thread count, padding FLOPs): kept as history, and as the proof that
# the roof check finds what was wrong with them (test_analysis.py).
BEFORE_THE_FIXES = {"amd-epyc-zen3-2c-default.json"}
CPU_REFS = sorted(p for p in REF.glob("*.json")  # whole-profile runs only (not fidelity tables or studies)
                  if "gpu" not in p.name and "fidelity" not in p.name and "-study" not in p.name
                  and p.name not in BEFORE_THE_FIXES)


def test_the_fidelity_table_agrees_with_the_independent_tools():
    """The committed fidelity run (scripts/fidelity --json): every ceiling within its tolerance of the tool."""
    import json
    tables = sorted(REF.glob("*-fidelity.json"))
    assert tables
    for t in tables:
        rows = json.loads(t.read_text())["fidelity"]
        assert {r["kind"] for r in rows} == {"peak", "bandwidth", "latency"}
        for r in rows:
            assert abs(r["ratio"] - 1) <= r["tolerance"], (t.name, r["what"], r["ratio"])


def test_the_history_study_says_what_docs_history_md_says():
    """The committed change-detection study (scripts/history-study --json) is the source of docs/history.md's table."""
    import json
    quiet = json.loads((REF / "intel-xeon-emerald-rapids-2c-history-study-quiet.json").read_text())
    assert quiet["commits"] == 60 and quiet["trials"] == 3 and quiet["rows"] == 59
    assert quiet["false_per_100_commits_per_series"] <= 1.0
    doc = (REF.parents[1] / "docs" / "history.md").read_text()
    assert f"{quiet['found']['0.10']['share']:.1%}" in doc
    assert f"{quiet['false_per_100_commits_per_series']:.2f}" in doc
    three = json.loads((REF / "intel-xeon-emerald-rapids-2c-history-study-quiet-3runs.json").read_text())
    assert three["runs_per_commit"] == 3 and three["found"]["0.10"]["share"] >= 0.95  # what CI measures per push
    assert f"{three['found']['0.10']['share']:.1%}" in doc


def test_there_is_a_cpu_reference_to_check():
    assert CPU_REFS


@pytest.mark.parametrize("path", CPU_REFS, ids=lambda p: p.name)
def test_no_row_of_a_reference_run_is_above_its_roof(path):
    ctx, rows = load(path)
    flagged = analysis.above_roof(ctx, rows)
    assert flagged == [], "\n".join(f"{f['name']}: {f['reason']}" for f in flagged)
    stored = json.loads(path.read_text()).get("prunebench_analysis", {})
    assert stored.get("above_roof") == []


@pytest.mark.parametrize("path", CPU_REFS, ids=lambda p: p.name)
def test_reference_ceilings_are_ordered(path):
    ctx, rows = load(path)
    c = ceilings.compute(ctx, rows)
    bws = [lv["best_bandwidth"] for lv in c["levels"] if lv["best_bandwidth"]]
    assert bws == sorted(bws, reverse=True)
    pt = c["peak_threads"]
    assert pt["f32/threads:2"] >= 1.5 * pt["f32/threads:1"]
