"""The commands: plot, report, summary, ceilings — files appear, bad input is one line and exit 2."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_script


@pytest.mark.parametrize("fixture", ["cpu_only.json", "sparse.json", "gpu.json", "errors.json"])
def test_plot_writes_figures(fix, tmp_path, fixture):
    rc, out, err = run_script("plot", fix / fixture, "--out", tmp_path)
    assert rc == 0, err
    made = {p.name for p in tmp_path.iterdir()}
    assert {"roofline.png", "ladder.png"} <= made
    if fixture != "gpu.json":
        assert {"latency.png", "bandwidth.png"} <= made
    if fixture == "sparse.json":
        assert "sparsity.png" in made
    assert all(p.stat().st_size > 5000 for p in tmp_path.iterdir())


def test_plot_overlays_several_runs(fix, tmp_path):
    rc, out, err = run_script("plot", fix / "cpu_only.json", fix / "gpu.json", "--out", tmp_path)
    assert rc == 0, err
    assert (tmp_path / "roofline.png").exists()


def test_report_is_one_self_contained_file(fix, tmp_path):
    out = tmp_path / "r.html"
    rc, _, err = run_script("report", fix / "sparse.json", "--out", out)
    assert rc == 0, err
    html = out.read_text()
    for section in ("Machine", "Ceilings", "Roofline", "What pays here", "Break-even sparsity", "bounded by"):
        assert section in html
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html  # no network
    assert "0.72" in html  # the break-even of openmp/csr random


def test_analyze_is_one_pass_and_later_readers_reuse_it(fix, tmp_path):
    run = tmp_path / "run.json"
    run.write_text((fix / "sparse.json").read_text())
    rc, out, err = run_script("analyze", run)
    assert rc == 0, err
    doc = json.loads(run.read_text())
    assert doc["prunebench_ceilings"]["peak"] and doc["prunebench_analysis"]["digest"]
    assert (tmp_path / "run.html").exists() and list((tmp_path / "run-plots").glob("*.png"))
    assert "What pays here" in (tmp_path / "run.html").read_text()
    assert "GEMM GFLOP/s" in out  # the summary, from the same pass
    # A later report reads the stored ceilings (a marked value shows through) while the rows are the same...
    peak = next(iter(doc["prunebench_ceilings"]["peak"].values()))
    peak["flops"] = 123.456e9
    run.write_text(json.dumps(doc))
    rc, _, err = run_script("report", run, "--out", tmp_path / "again.html")
    assert rc == 0, err
    assert "123.5 GFLOP/s" in (tmp_path / "again.html").read_text()
    # ...and computes them afresh once the rows changed (a merge, a re-measure).
    doc["benchmarks"] = doc["benchmarks"][:-1]
    run.write_text(json.dumps(doc))
    rc, out, err = run_script("summary", run)
    assert rc == 0, err
    assert "123.5" not in out


@pytest.mark.parametrize("script", ["plot", "report", "summary", "ceilings", "compare", "analyze"])
@pytest.mark.parametrize("content", [None, "", '{"benchmarks": [{"name": "x"', '{"hello": 1}'])
def test_bad_input_is_one_line_and_exit_2(tmp_path, script, content):
    p = tmp_path / "bad.json"
    if content is not None:
        p.write_text(content)
    args = [p, p] if script == "compare" else [p] + (["--out", tmp_path / "o"] if script == "plot" else [])
    rc, out, err = run_script(script, *args)
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("script", ["plot", "report", "summary", "ceilings", "compare", "baseline", "abab", "gate-study", "fidelity", "analyze"])
def test_help(script):
    rc, out, err = run_script(script, "--help")
    assert rc == 0 and "usage" in out.lower()


def test_summary_prints_ceilings_and_ladder(fix):
    rc, out, err = run_script("summary", fix / "cpu_only.json")
    assert rc == 0, err
    assert "Ceilings" in out and "openmp/f32" in out and "GEMM GFLOP/s" in out


def test_ceilings_write_stores_them(fix, tmp_path):
    p = tmp_path / "r.json"
    shutil.copy(fix / "cpu_only.json", p)
    rc, out, err = run_script("ceilings", p, "--write")
    assert rc == 0, err
    import json
    doc = json.loads(p.read_text())
    assert doc["prunebench_ceilings"]["levels"][0]["name"] == "L1"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(fix, tmp_path):
    html = tmp_path / "r.html"
    assert run_script("report", fix / "sparse.json", "--out", html)[0] == 0
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1280,2000", html.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20000
    # Not a blank page: the header bar (dark) and white sections must both be there.
    from matplotlib.image import imread
    img = imread(shot)
    assert img[10, 10, :3].max() < 0.3 and img[:, :, :3].max() > 0.9


def _part(tmp_path, name, rows, **ctx):
    import json
    p = tmp_path / name
    context = {"machine_id": "m", "gpu_name": "g", "git_sha": "abc", **ctx}
    p.write_text(json.dumps({"context": context, "benchmarks": [
        {"name": r + "/manual_time", "run_name": r + "/manual_time", "run_type": "iteration", "real_time": 1.0,
         "time_unit": "ms"} for r in rows]}))
    return p


def test_merge_runs_joins_parts_of_one_run(tmp_path):
    import json
    a = _part(tmp_path, "a.json", ["gemm/cublas/M:8/N:8/K:8/dtype:f32"] * 3)
    b = _part(tmp_path, "b.json", ["spmm/cuda/csr/M:8/N:8/K:8/sparsity:0.90/pattern:random"])
    out = tmp_path / "m.json"
    rc, _, err = run_script("merge-runs", out, a, b)
    assert rc == 0, err
    doc = json.loads(out.read_text())
    assert len(doc["benchmarks"]) == 4 and doc["context"]["merged_from"] == ["a.json", "b.json"]
    assert "prunebench_rows" not in doc  # parts without row descriptions: none invented


def test_merge_runs_keeps_every_parts_row_descriptions(tmp_path):
    import json
    parts = []
    for name, row in (("a.json", "gemm/cublas/M:8/N:8/K:8/dtype:f32"), ("b.json", "conv/cudnn/direct/N:1/sparsity:0.00")):
        p = _part(tmp_path, name, [row])
        d = json.loads(p.read_text())
        d["prunebench_rows"] = {row: {"family": row.split("/")[0], "backend": row.split("/")[1], "variant": "",
                                      "device": "gpu", "dtype": "f32", "dense_baseline": True, "params": {}}}
        p.write_text(json.dumps(d))
        parts.append(p)
    out = tmp_path / "m.json"
    rc, _, err = run_script("merge-runs", out, *parts)
    assert rc == 0, err
    assert set(json.loads(out.read_text())["prunebench_rows"]) == {"gemm/cublas/M:8/N:8/K:8/dtype:f32",
                                                                   "conv/cudnn/direct/N:1/sparsity:0.00"}


def test_merge_runs_refuses_other_machines_and_shared_rows(tmp_path):
    a = _part(tmp_path, "a.json", ["gemm/cublas/M:8/N:8/K:8/dtype:f32"])
    other = _part(tmp_path, "o.json", ["conv/cudnn/direct/N:1"], gpu_name="h")
    same_row = _part(tmp_path, "s.json", ["gemm/cublas/M:8/N:8/K:8/dtype:f32"])
    for b in (other, same_row, tmp_path / "missing.json"):
        rc, _, err = run_script("merge-runs", tmp_path / "m.json", a, b)
        assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert not (tmp_path / "m.json").exists()


def test_summary_has_a_gpu_section_from_a_real_h200_run(fix):
    # Rows cut from the committed H200 reference run: the sparse rows are judged against dense at their own
    # precision (cuBLAS FP32; the BF16/TF32 rows compute something else) and against cuSPARSE CSR at the same problem.
    rc, out, err = run_script("summary", fix / "gpu_h200.json")
    assert rc == 0, err
    assert "GPU: NVIDIA H200 (132 SMs)" in out
    assert "1024 MiB: 3925 GB/s" in out
    line = next(l for l in out.splitlines() if "cuda/csr_tiled random" in l)
    assert "219.8 us" in line and "0.82x" in line and "0.88x" in line, line
    assert "GEMM GFLOP/s (ratio to openblas" not in out  # no CPU GEMM rows in this file


def test_report_names_what_each_library_chose(fix, tmp_path):
    d = json.loads((fix / "cpu_only.json").read_text())
    b = next(b for b in d["benchmarks"] if b.get("run_type") == "iteration" and not b.get("error_occurred"))
    b["label"] = "brgconv:avx512_core"
    f = tmp_path / "l.json"
    f.write_text(json.dumps(d))
    rc, _, err = run_script("report", f, "--out", tmp_path / "l.html")
    assert rc == 0, err
    html = (tmp_path / "l.html").read_text()
    assert "What the libraries chose: 1 rows" in html and "brgconv:avx512_core" in html


def test_report_of_a_gpu_run_has_the_gpu_section(fix, tmp_path):
    out = tmp_path / "g.html"
    rc, _, err = run_script("report", fix / "gpu_h200.json", "--out", out)
    assert rc == 0, err
    html = out.read_text()
    assert "GPU: NVIDIA H200" in html and "SpMM against dense at each precision" in html
    assert "Ceilings (measured in this run)" not in html  # no CPU rows, so no CPU ceilings


def test_ci_workflows_are_valid_yaml_and_gate_on_compare():
    # GitHub rejects a workflow that is not valid YAML without running anything (a step name holding ": " once
    # made this one a mapping error), so parse them here, where they cannot run.
    import yaml
    from conftest import ROOT
    flows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert flows
    for f in flows:
        doc = yaml.safe_load(f.read_text())
        assert doc["jobs"], f
    gate = yaml.safe_load((ROOT / ".github" / "workflows" / "perf-gate.yml").read_text())
    script = "\n".join(s.get("run", "") for s in gate["jobs"]["compare"]["steps"])
    assert "scripts/abab" in script and "--format markdown" in script and "exit 1" in script


def test_ci_workflows_match_githubs_schema():
    """Validated against the GitHub workflow schema SchemaStore publishes (vendored in check-jsonschema, so offline)."""
    from conftest import ROOT
    import sys
    exe = Path(sys.executable).parent / "check-jsonschema"
    flows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    r = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows", *map(str, flows)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_history_workflow_records_publishes_and_alerts():
    import yaml
    from conftest import ROOT
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "history.yml").read_text())
    assert flow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True
    steps = flow["jobs"]["record"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    for needed in ("--profile=quick", "scripts/analyze run$i.json", "scripts/history add --store data/history run1.json",
                   "scripts/history changes --store data/history", "scripts/history report --store data/history",
                   "git push -q origin perf-history", "gh issue create", "gh issue comment"):
        assert needed in script, needed
    alert = next(s for s in steps if "gh issue create" in s.get("run", ""))
    assert "steps.changes.outputs.status == '1'" in alert["if"] and "changed == 'true'" in alert["if"]
    uses = [s.get("uses", "") for j in flow["jobs"].values() for s in j["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)


def _system_python():
    """An interpreter outside the venv (what a plain shell's python3 is), or None."""
    for p in ("/usr/bin/python3", shutil.which("python3")):
        if p and subprocess.run([p, "-c", "import sys; sys.exit(0 if sys.prefix == sys.base_prefix else 1)"]).returncode == 0:
            return p
    return None


@pytest.mark.skipif(_system_python() is None, reason="no Python outside a venv")
def test_scripts_find_the_venv_from_a_plain_shell(fix):
    """`scripts/compare A B` as the README shows it: started by any python3, it runs under .venv."""
    from conftest import SCRIPTS
    r = subprocess.run([_system_python(), str(SCRIPTS / "compare"), str(fix / "gb_base.json"), str(fix / "gb_base.json")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "ModuleNotFoundError" not in r.stderr, r.stderr


def test_a_closed_pipe_is_quiet(fix):
    from conftest import SCRIPTS
    for cmd in (f"'{SCRIPTS}/summary' '{fix}/sparse.json' | head -1",
                f"'{SCRIPTS}/compare' '{fix}/gb_base.json' '{fix}/gb_head.json' | head -1"):
        r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
        assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, (cmd, r.stderr)


SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.parametrize("script,args", [("bench", ["--bogus"]), ("bench", ["--profile", "nope"]),
                                         ("bench", ["--config", "/no/such/file.json"]), ("bench", ["--out"]),
                                         ("test", ["--bogus"])])
def test_the_shell_commands_refuse_bad_flags_in_one_line_with_exit_2(script, args):
    # Parsed before anything is installed or built, so this costs nothing.
    r = subprocess.run([str(SCRIPTS / script), *args], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith(f"{script}: error: ")


def test_bench_takes_force_with_compare():
    r = subprocess.run([str(SCRIPTS / "bench"), "--compare", "auto", "--force", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--force" in r.stdout and "set -e" not in r.stdout
