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
    if not DLMC.exists():
        pytest.skip("the DLMC sample (../shared/data/dlmc) names rows of these profiles")
    golden = (GOLDEN / f"rows-{profile}.txt").read_text().split()
    got = names(profile)
    missing, extra = sorted(set(golden) - set(got)), sorted(set(got) - set(golden))
    assert not missing and not extra, f"{len(missing)} names gone (e.g. {missing[:3]}), {len(extra)} new (e.g. {extra[:3]})"
    assert got == golden  # the order too: rows run (and baselines list them) in registration order
