"""The numbers the report and summary print, on fixtures with known answers."""
import pytest

from pbtools import analysis, ceilings
from pbtools.results import InputError, load, parse_name


def test_parse_name_strips_suffix_and_splits_params():
    fam, backend, variant, params = parse_name("spmm/openmp/csr/M:3072/N:128/K:768/sparsity:0.90/pattern:2:4/threads:2/real_time")
    assert (fam, backend, variant) == ("spmm", "openmp", "csr")
    assert params == {"M": "3072", "N": "128", "K": "768", "sparsity": "0.90", "pattern": "2:4", "threads": "2"}
    assert parse_name("gemm/naive/M:1/N:1/K:1/threads:1")[2] == ""


def test_break_even_interpolates_and_reports_edges():
    assert analysis.break_even([(0.5, 0.6), (0.7, 0.9), (0.8, 1.5), (0.9, 3.0)]) == pytest.approx(0.7 + 0.1 / 6)
    assert analysis.break_even([(0.5, 1.2), (0.9, 5.0)]) == "<=0.50"
    assert analysis.break_even([(0.5, 0.95), (0.9, 0.97)]) is None


def test_speedups_are_against_the_best_dense_kernel(fix):
    ctx, rows = load(fix / "sparse.json")
    sp = {(s["row"].variant, s["sparsity"]): s for s in analysis.speedups(rows)}
    assert sp[("csr", 0.9)]["speedup"] == pytest.approx(3.0, rel=1e-3)
    assert sp[("csr", 0.9)]["baseline"].backend == "openblas"  # 100 GF/s beats openmp's 90
    be = {b["series"]: b["break_even"] for b in analysis.break_evens(rows)}
    assert be["openmp/csr random"] == pytest.approx(0.7167, abs=1e-3)
    assert be["openmp/bsr block4x4"] == "<=0.50"
    assert be["openmp/masked random"] is None


def test_what_pays_names_the_fastest_scheme_or_dense(fix):
    ctx, rows = load(fix / "sparse.json")
    pays = {p["sparsity"]: p for p in analysis.what_pays(rows)}
    assert pays[0.9]["best"].startswith("openmp/bsr") and pays[0.9]["speedup"] == pytest.approx(5.0, rel=1e-3)
    assert pays[0.5]["best"].startswith("openmp/bsr")
    assert pays[0.8]["advice"] == "1.50x"


def test_levels_detected_from_latency_plateaus(fix):
    ctx, rows = load(fix / "cpu_only.json")
    c = ceilings.compute(ctx, rows)
    names = [lv["name"] for lv in c["levels"]]
    assert names[:3] == ["L1", "L2", "L3"] and names[-1] == "DRAM"
    l1, l2, l3 = c["levels"][:3]
    assert l1["latency_ns"] == pytest.approx(1.5) and l1["to_bytes"] == 32768 and l1["os_bytes"] == 32768
    assert l2["latency_ns"] == pytest.approx(4.0) and (l2["from_bytes"], l2["to_bytes"]) == (65536, 262144)
    assert l3["latency_ns"] == pytest.approx(18.5)
    assert c["levels"][-1]["latency_ns"] == pytest.approx(101.0)
    assert l1["best_bandwidth"] == 300e9 and c["levels"][-1]["best_bandwidth"] == 20e9
    assert c["peak"]["openmp/f32"] == {"flops": 200e9, "threads": 2}


def test_roof_shares(fix):
    ctx, rows = load(fix / "cpu_only.json")
    v = {x["row"].name: x for x in analysis.verdicts(ctx, rows)}
    omp2 = v["gemm/openmp/M:256/N:256/K:256/threads:2"]
    assert omp2["bound"] == "compute" and omp2["share"] == pytest.approx(130 / 200)
    assert v["gemm/openmp/M:256/N:256/K:256/threads:1"]["share"] == pytest.approx(70 / 100)


def test_error_rows_are_kept_apart(fix):
    ctx, rows = load(fix / "errors.json")
    errs = [r for r in rows if r.error]
    assert len(errs) == 1 and "unsupported" in errs[0].error


@pytest.mark.parametrize("content,msg", [(None, "no such file"), ("", "empty file"), ('{"benchmarks": [', "not valid JSON"),
                                         ('{"foo": 1}', "not a Google Benchmark JSON"), ("[1, 2]", "not a Google Benchmark JSON")])
def test_bad_inputs_raise_one_line(tmp_path, content, msg):
    p = tmp_path / "r.json"
    if content is not None:
        p.write_text(content)
    with pytest.raises(InputError) as e:
        load(p)
    assert msg in str(e.value) and "\n" not in str(e.value) and str(p) in str(e.value)
