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


# --- The roof check: no number above what the machine measurably does --------------------------------------

def _row(name, t_ns, reps=1, **counters):
    from pbtools.results import Row
    fam, backend, variant, params = parse_name(name)
    return Row(name, fam, backend, variant, params, times_ns=[t_ns] * reps, runs=[0] * reps,
               counters={k: (v if isinstance(v, list) else [v] * reps) for k, v in counters.items()})


def _machine(peak2=200e9):
    ctx = {"l1d_bytes": "49152", "l2_bytes": "2097152", "l3_bytes": "33554432"}
    rows = [_row("peak/openmp/fma/dtype:f32/threads:1", 1e6, flops=100e9),
            _row("peak/openmp/fma/dtype:f32/threads:2", 1e6, flops=peak2)]
    for size, ns in ((16384, 1.0), (32768, 1.0), (262144, 4.0), (1048576, 4.0), (8388608, 15.0), (16777216, 15.0),
                     (268435456, 100.0), (536870912, 100.0)):
        rows.append(_row(f"mem_lat/naive/chase/bytes:{size}", 1e6, ns_per_load=ns))
    # Total footprint per row; 2-thread rows split it, so 65536 at 2 threads is 32 KiB each: an L1 figure.
    for size, bw1, bw2 in ((32768, 300e9, 400e9), (65536, 150e9, 600e9), (1048576, 150e9, 300e9),
                           (16777216, 100e9, 200e9), (536870912, 20e9, 30e9)):
        rows.append(_row(f"mem_bw/openmp/read/bytes:{size}/threads:1", 1e6, bytes_per_second=bw1))
        rows.append(_row(f"mem_bw/openmp/read/bytes:{size}/threads:2", 1e6, bytes_per_second=bw2))
    return ctx, rows


def test_two_thread_bandwidth_is_placed_by_its_per_thread_working_set():
    ctx, rows = _machine()
    c = ceilings.compute(ctx, rows)
    lv = {l["name"]: l for l in c["levels"]}
    assert lv["L1"]["bandwidth"]["openmp/read/threads:2"] == 600e9  # 64 KiB total = 32 KiB per thread
    bws = [l["best_bandwidth"] for l in c["levels"]]
    assert bws == sorted(bws, reverse=True), bws  # no inner roof below an outer one


def test_a_row_above_its_compute_roof_is_flagged_with_the_reason():
    ctx, rows = _machine()
    # 1 GFLOP in 4 ms at 1 thread = 250 GFLOP/s against a 100 GFLOP/s 1-thread peak: another row's threads.
    rows.append(_row("conv/onednn/direct/N:1/C:64/H:56/W:56/K:64/R:3/S:3/stride:1/pad:1/sparsity:0.00/threads:1",
                     4e6, flops=250e9, ai=100.0, bytes_per_second=2.5e9))
    rows.append(_row("gemm/openmp/M:512/N:512/K:512/threads:2", 1e6, flops=190e9, ai=80.0, bytes_per_second=2.4e9))
    flagged = {f["name"]: f["reason"] for f in analysis.above_roof(ctx, rows)}
    assert list(flagged) == ["conv/onednn/direct/N:1/C:64/H:56/W:56/K:64/R:3/S:3/stride:1/pad:1/sparsity:0.00/threads:1"]
    assert "250% of the compute roof" in next(iter(flagged.values()))


def test_a_gemv_that_fits_a_cache_is_judged_by_that_caches_bandwidth_not_drams():
    """7.8 MiB per call streams at cache speed where the bandwidth curve says so, whatever the latency knee."""
    ctx, rows = _machine()
    gemv = _row("gemm/openmp/M:2048/N:1/K:1000/threads:1", 78e3, flops=52e9, ai=0.5, bytes_per_second=104e9)
    rows.append(gemv)
    v = next(v for v in analysis.verdicts(ctx, rows) if v["row"] is gemv)
    assert "above_roof" not in v and v["bound"].endswith("bandwidth") and v["share"] == pytest.approx(104 / 150, rel=0.01)


def test_a_two_thread_ceiling_no_faster_than_one_thread_is_flagged_and_not_used():
    ctx, rows = _machine(peak2=101e9)  # a neighbour took a core while 2 threads ran
    c = ceilings.compute(ctx, rows)
    assert [s["row"] for s in c["suspect"]] == ["peak/openmp/fma/dtype:f32/threads:2"]
    assert "f32/threads:2" not in c["peak_threads"]
    roof, what = analysis.compute_roof_at(c, 2)
    assert roof == 200e9 and "x 2" in what  # the 1-thread peak times two, said so
    assert any("disturbed" in f["reason"] for f in analysis.above_roof(ctx, rows))


def test_ceilings_keep_the_best_repetition():
    ctx, rows = _machine()
    rows[0] = _row("peak/openmp/fma/dtype:f32/threads:1", 1e6, reps=3, flops=[60e9, 100e9, 70e9])
    assert ceilings.compute(ctx, rows)["peak"]["openmp/f32"]["flops"] == 200e9
    assert ceilings.compute(ctx, rows)["peak_threads"]["f32/threads:1"] == 100e9


def test_the_old_zen3_reference_shows_the_onednn_thread_bug():
    """The committed Zen 3 run predates the oneDNN thread fix: its 1-thread 1x1 oneDNN rows ran on 2 threads and
    the roof check names them (and nothing else)."""
    from pathlib import Path
    ctx, rows = load(Path(__file__).resolve().parents[2] / "results/reference/amd-epyc-zen3-2c-default.json")
    flagged = [f["name"] for f in analysis.above_roof(ctx, rows)]
    assert flagged and all(n.startswith("conv/onednn/direct/") and n.endswith("/threads:1") for n in flagged)


def test_set_up_pays_back_after_the_calls_its_saving_covers():
    from pbtools.results import Row
    def cpu(name, t_us, **c):
        fam, backend, variant, params = parse_name(name)
        return Row(name, fam, backend, variant, params, times_ns=[t_us * 1e3], runs=[0],
                   counters={k: [v] for k, v in c.items()}, dense_baseline=fam == "gemm")
    rows = [cpu("gemm/openblas/M:768/N:512/K:3072/threads:2", 1000),
            cpu("spmm/openmp/csr_rt4/M:768/N:512/K:3072/sparsity:0.90/pattern:random/threads:2", 400, setup_ms=1.5)]
    w = analysis.what_pays(rows)[0]
    assert w["setup_ms"] == 1.5 and w["payback_calls"] == pytest.approx(1.5 / 0.6)
    from pbtools import report_html
    # 2.5 calls' savings: two calls save 1.2 ms of the 1.5, the third covers it.
    assert report_html.setup_text(w) == "1.50 ms (pays back after 3 calls)"
    # A set-up smaller than one call's saving is paid back by that call, not "after 0 calls".
    assert report_html.setup_text(dict(w, payback_calls=0.02)) == "1.50 ms (pays back after 1 call)"
    assert report_html.setup_text(dict(w, payback_calls=None)) == "1.50 ms (never pays back)"


def test_sparse_geomeans_give_each_backends_fastest_kernel_over_dense_and_ours_over_the_others(capsys):
    from pbtools.results import Row

    def cpu(name, t_us):
        fam, backend, variant, params = parse_name(name)
        return Row(name, fam, backend, variant, params, times_ns=[t_us * 1e3], runs=[0], dense_baseline=fam == "gemm")
    rows = [cpu("gemm/openblas/M:64/N:512/K:256/threads:2", 100), cpu("gemm/openmp/M:64/N:512/K:256/threads:2", 80),
            cpu("gemm/openblas/M:128/N:512/K:1152/threads:2", 400)]
    for spars, ours, other, eigen, mkl in (("0.90", 20, 10, 40, 50), ("0.95", 10, 8, 16, None)):
        rows += [cpu(f"spmm/openmp/csr/M:64/N:512/K:256/sparsity:{spars}/pattern:file/threads:2/name:a", ours),
                 cpu(f"spmm/openmp/csr_l1/M:64/N:512/K:256/sparsity:{spars}/pattern:file/threads:2/name:a", other),
                 cpu(f"spmm/eigen/csr/M:64/N:512/K:256/sparsity:{spars}/pattern:file/threads:2/name:a", eigen)]
        if mkl:
            rows.append(cpu(f"spmm/mkl/csr/M:64/N:512/K:256/sparsity:{spars}/pattern:file/threads:2/name:a", mkl))
    rows += [cpu("spmm/openmp/csr/M:128/N:512/K:1152/sparsity:0.90/pattern:file/threads:2/name:b", 50),
             cpu("spmm/eigen/csr/M:128/N:512/K:1152/sparsity:0.90/pattern:file/threads:2/name:b", 200),
             cpu("spmm/openmp/csr/M:64/N:512/K:256/sparsity:0.90/pattern:file/threads:1/name:a", 1),  # 1 thread
             cpu("spmm/naive/csr/M:64/N:512/K:256/sparsity:0.90/pattern:file/threads:2/name:a", 1),  # not a choice
             cpu("spmm/openmp/csr_auto/M:64/N:512/K:256/sparsity:0.90/pattern:file/threads:2/name:a", 12),
             # Structured pruning is a pattern of its own: the libraries' dense kernels on the smaller problem.
             cpu("spmm/openmp/structured/M:64/N:512/K:256/sparsity:0.90/pattern:rows/threads:2", 10),
             cpu("spmm/openblas/structured/M:64/N:512/K:256/sparsity:0.90/pattern:rows/threads:2", 8)]
    every = analysis.sparse_geomeans(rows)
    structured = [e for e in every if e["pattern"] == "rows"]
    assert len(structured) == 1 and structured[0]["ours_over"] == {"openblas": (pytest.approx(0.8), 1)}
    g = {e["sparsity"]: e for e in every if e["pattern"] == "file"}
    assert set(g) == {0.9, 0.95, None} and "naive" not in g[0.9]["speedup"]
    # The kernel that picks at set-up is a column of its own, not folded into the best of ours chosen afterwards.
    assert g[0.9]["speedup"]["openmp/csr_auto"] == (pytest.approx(80 / 12), 1)
    assert g[0.9]["ours_over"]["openmp/csr_auto"] == (pytest.approx(1.2), 1)
    # 0.90: layer a, ours at its fastest (csr_l1, 10 us) against dense 80 us: 8x; layer b 400 / 50 = 8x
    assert g[0.9]["problems"] == 2 and g[0.9]["speedup"]["openmp"] == (pytest.approx(8.0), 2)
    assert g[0.9]["speedup"]["eigen"] == (pytest.approx((2.0 * 2.0) ** 0.5), 2)
    assert g[0.9]["speedup"]["mkl"] == (pytest.approx(1.6), 1)
    assert g[0.9]["ours_over"]["eigen"] == (pytest.approx(4.0), 2) and g[0.9]["ours_over"]["mkl"][1] == 1
    assert "mkl" not in g[0.95]["ours_over"] and g[0.95]["ours_over"]["eigen"] == (pytest.approx(2.0), 1)
    assert g[None]["problems"] == 3 and g[None]["speedup"]["openmp"][0] == pytest.approx((8 * 8 * 10) ** (1 / 3))
    assert list(g[None]["speedup"])[0] == analysis.OURS
    from pbtools import report_html
    html = "".join(report_html.geomean_section(analysis.sparse_geomeans(rows)))
    assert "<th>openmp over eigen</th>" in html and "4.00x" in html
    from pbtools import summary_text
    summary_text.print_sparse_geomeans(every)
    out = capsys.readouterr().out
    assert "6.67x (1)" in out  # csr_auto ran on one of the line's two problems: the cell says so


def test_sparse_geomeans_give_the_conv_picker_a_column_of_its_own():
    from pbtools.results import Row

    def cpu(name, t_us, dense=False):
        fam, backend, variant, params = parse_name(name)
        return Row(name, fam, backend, variant, params, times_ns=[t_us * 1e3], runs=[0], dense_baseline=dense)
    layer = "N:1/C:128/H:28/W:28/K:128/R:3/S:3/stride:1/pad:1"
    rows = [cpu(f"conv/onednn/direct/{layer}/sparsity:0.00/threads:2", 300, dense=True),
            cpu(f"conv/openmp/sparse_direct/{layer}/sparsity:0.90/pattern:magnitude/threads:2", 100),
            cpu(f"conv/openmp/sparse_im2col/{layer}/sparsity:0.90/pattern:magnitude/threads:2", 150),
            cpu(f"conv/openmp/sparse_auto/{layer}/sparsity:0.90/pattern:magnitude/threads:2", 120)]
    (g,) = analysis.sparse_geomeans(rows)
    assert g["family"] == "conv" and g["speedup"]["openmp"] == (pytest.approx(3.0), 1)
    assert g["speedup"]["openmp/sparse_auto"] == (pytest.approx(2.5), 1)
    assert g["ours_over"] == {"openmp/sparse_auto": (pytest.approx(1.2), 1)}
    # Where the picker is the fastest, "what pays" names what it picked.
    rows[-1] = cpu(f"conv/openmp/sparse_auto/{layer}/sparsity:0.90/pattern:magnitude/threads:2", 90)
    rows[-1].label = "sparse_direct"
    assert analysis.what_pays(rows)[0]["best"] == "openmp/sparse_auto -> sparse_direct (magnitude)"


def test_sparse_geomeans_leave_out_the_all_line_where_there_is_one_sparsity(capsys):
    from pbtools.results import Row
    from pbtools import summary_text

    def cpu(name, t_us):
        fam, backend, variant, params = parse_name(name)
        return Row(name, fam, backend, variant, params, times_ns=[t_us * 1e3], runs=[0], dense_baseline=fam == "gemm")
    rows = [cpu("gemm/openblas/M:64/N:512/K:256/threads:2", 100),
            cpu("spmm/openmp/csr/M:64/N:512/K:256/sparsity:0.90/pattern:random/threads:2", 25)]
    g = analysis.sparse_geomeans(rows)
    assert [e["sparsity"] for e in g] == [0.9] and g[0]["ours_over"] == {}
    summary_text.print_sparse_geomeans(g)
    out = capsys.readouterr().out
    assert "Pruned vs dense" in out and "4.00x" in out and " all " not in out


def test_thread_scaling_is_a_ratio_of_rates(fix):
    """The FMA peak runs its loop on every thread: same time at 1 and 2 threads, twice the FLOP/s. Its scaling is
    2x (a ratio of times said 1x); a GEMM of fixed size scales by its FLOP/s too."""
    from pbtools import plots
    ctx, rows = load(fix / "cpu_only.json")
    lines = plots.scaling_lines([("run", ctx, rows)])
    assert lines[(0, "peak/openmp")][2] == pytest.approx(2.0)
    assert lines[(0, "gemm/openmp")][2] == pytest.approx(130 / 70, rel=0.05)


def test_verdicts_that_rest_on_a_disturbed_row_say_so():
    """A row measured while the host put both vCPUs on one core (FMA canary halved) still bounds its kernel's time
    from above, so the fastest rows decide each side as ever (preferring a slower clean row put a slower kernel under
    "ours", below csr_auto, on the DLMC sample); but a verdict that rests on a disturbed row, on either side, says so
    (a default run on the Zen 3 guest published 2:4 at 0.68x dense from rows measured in that state)."""
    from pbtools.results import rows as rows_of

    def b(name, t_us, fma=200.0):
        return {"name": name + "/real_time", "run_name": name + "/real_time", "run_type": "iteration",
                "real_time": t_us, "time_unit": "us", "guard_clock_ghz": 3.0, "guard_write_gbs": 40.0,
                "guard_fma_gflops": fma, "guard_steal": 0.0}
    half = 100.0
    doc = {"context": {"prunebench_version": "0", "guard": "canary after every repetition"}, "benchmarks": [
        b("gemm/openmp/M:64/N:512/K:256/threads:2", 80), b("gemm/mkl/M:64/N:512/K:256/threads:2", 60, half),
        b("spmm/openmp/csr/M:64/N:512/K:256/sparsity:0.90/pattern:magnitude/threads:2", 20),
        b("spmm/openmp/csr_l1/M:64/N:512/K:256/sparsity:0.90/pattern:magnitude/threads:2", 15, half),
        b("gemm/openmp/M:128/N:512/K:256/threads:2", 160),
        b("spmm/openmp/csr/M:128/N:512/K:256/sparsity:0.90/pattern:magnitude/threads:2", 80),
        b("spmm/openmp/csr_l1/M:128/N:512/K:256/sparsity:0.90/pattern:magnitude/threads:2", 90, half)]
        + [b(f"peak/openmp/fma/dtype:f32/threads:{i}", 1) for i in range(1, 9)]}  # calm canaries: the run's 90th
    rows = rows_of(doc)
    flagged = {r.name for r in rows if r.disturbed}
    assert flagged == {"gemm/mkl/M:64/N:512/K:256/threads:2",
                       "spmm/openmp/csr_l1/M:64/N:512/K:256/sparsity:0.90/pattern:magnitude/threads:2",
                       "spmm/openmp/csr_l1/M:128/N:512/K:256/sparsity:0.90/pattern:magnitude/threads:2"}
    assert all("FMA canary" in r.disturbed for r in rows if r.disturbed)
    assert analysis.best_dense(rows)[("spmm", (64, 512, 256), 2, "f32")][1].backend == "mkl"  # the fastest
    pays = {p["dims"]: p for p in analysis.what_pays(rows)}
    small, large = pays[(64, 512, 256)], pays[(128, 512, 256)]
    assert small["best"].startswith("openmp/csr_l1 ") and small["speedup"] == pytest.approx(4.0)
    assert "measured while disturbed" in small["disturbed"] and "its dense baseline was" in small["disturbed"]
    assert large["best"].startswith("openmp/csr ") and large["speedup"] == pytest.approx(2.0)
    assert large["disturbed"] is None  # a disturbed row that lost decides nothing
    g = analysis.sparse_geomeans(rows)[0]
    assert g["problems"] == 2 and g["disturbed"] == 1
    assert g["speedup"]["openmp"] == (pytest.approx((4.0 * 2.0) ** 0.5), 2)
    from pbtools import report_html, summary_text
    assert "DISTURBED" in "".join(report_html.geomean_section([g]))
    import io
    import contextlib
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        summary_text.print_sparse_geomeans([g])
    assert " *1 " in out.getvalue()
