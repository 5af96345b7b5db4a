"""Row names are an API: baselines, the gate and history match rows by name. The names every row of the default and
gpu profiles gets are pinned here (tests/golden/rows-<profile>.txt, generated from the code before the names were
built from one place); a refactor that changes one fails this test.

Machine-dependent parts are normalised: the thread count of "cores" reads `threads:CORES`, and the CPU memory sweeps
(working sets derived from this machine's caches and memory) are left out."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "build" / "portable" / "bin" / "prunebench"
GOLDEN = ROOT / "tests" / "golden"
DLMC = ROOT.parent / "shared" / "data" / "dlmc"
pytestmark = pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")


def names(profile: str) -> list[str]:
    r = subprocess.run([str(BIN), f"--profile={profile}", "--benchmark_list_tests=true"], capture_output=True,
                       text=True, check=True)
    cores = os.cpu_count()
    out = []
    for n in r.stdout.split():
        if re.match(r"mem_(bw|lat)/(naive|eigen|openmp)/", n):
            continue
        out.append(re.sub(rf"/threads:{cores}(?=/|$)", "/threads:CORES", n))
    return out


@pytest.mark.parametrize("profile", ["default", "gpu"])
def test_row_names_are_unchanged(profile):
    """Every pinned name is still produced, in the pinned order; rows of a newly registered kernel may be added
    (they are listed, not failed: adding a kernel is what gets it benchmarked)."""
    if not DLMC.exists():
        pytest.skip("the DLMC sample (../shared/data/dlmc) names rows of these profiles")
    golden = (GOLDEN / f"rows-{profile}.txt").read_text().split()
    got = names(profile)
    missing = sorted(set(golden) - set(got))
    assert not missing, f"{len(missing)} names gone (e.g. {missing[:3]})"
    pinned = set(golden)
    assert [n for n in got if n in pinned] == golden  # the order too: rows run (and baselines list them) in order
    extra = [n for n in got if n not in pinned]
    if extra:
        print(f"{len(extra)} rows not pinned (new kernels or shapes), e.g. {extra[:2]}")


def test_a_renamed_row_fails(monkeypatch):
    """The check above fails when a pinned name changes, not only when it disappears."""
    if not DLMC.exists():
        pytest.skip("needs the DLMC sample")
    real = names("default")
    renamed = [n.replace("/real_time", "/sparsity:0.9/real_time") if i == 5 else n for i, n in enumerate(real)]
    assert renamed != real
    monkeypatch.setattr(__import__(__name__), "names", lambda profile: renamed)
    with pytest.raises(AssertionError, match="names gone"):
        test_row_names_are_unchanged("default")
