"""The configs behind the committed studies (bench/studies/*.json) stay valid: each loads, resolves its DLMC paths
against its own folder and registers the rows its study measured, so the commands in results/README.md and the
issue notes still run."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "build" / "portable" / "bin" / "prunebench"
STUDIES = sorted((ROOT / "bench" / "studies").glob("*.json"))
DLMC = ROOT.parent / "shared" / "data" / "dlmc"


def test_there_are_study_configs():
    assert STUDIES


@pytest.mark.skipif(not BIN.exists(), reason="needs build/portable (./scripts/test builds it first)")
@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_study_config_registers_its_rows(path):
    out = subprocess.run([str(BIN), f"--config={path}", "--benchmark_list_tests=true"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = out.stdout.split()
    assert any(r.startswith("spmm/openmp/csr_l1/") for r in rows)
    if "dlmc" in path.name or "break-even" in path.name:
        if not DLMC.exists():
            pytest.skip("DLMC sample not beside the checkout")
        assert any("/pattern:file/" in r for r in rows), "the DLMC paths did not resolve"
        assert not any("not found" in line for line in out.stderr.splitlines())
