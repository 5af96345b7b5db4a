"""GPU rows judged at the precision a user deploys: against dense at the row's own precision, at any precision its
input allows (the run's precision_accepts), and at any precision at all; roofs per precision; throttled rows."""
import pytest

from pbtools import analysis
from pbtools.results import Row, parse_name

CTX = {"precision_accepts": "f32=f32,tf32 tf32=tf32,f32 f16=f16,bf16 bf16=bf16,f16 i8=i8 e4m3=e4m3",
       "gpu_name": "fixture GPU"}
SHAPE = "M:4096/N:256/K:4096"


def _gpu(name, t_us, dense=False, peer=False, **counters):
    fam, backend, variant, params = parse_name(name)
    return Row(name, fam, backend, variant, params, times_ns=[t_us * 1e3] * 3, runs=[0] * 3,
               counters={k: [v] * 3 for k, v in counters.items()}, device="gpu", dense_baseline=dense,
               library_peer=peer)


def _rows():
    dense = {"gemm/cublas/%s/dtype:f32" % SHAPE: 100, "gemm/cublas/lt/%s/dtype:tf32" % SHAPE: 40,
             "gemm/cublas/lt/%s/dtype:f16" % SHAPE: 22, "gemm/cublas/lt/%s/dtype:bf16" % SHAPE: 20,
             "gemm/cublas/lt/%s/dtype:i8" % SHAPE: 12, "gemm/cublas/lt/%s/dtype:e4m3" % SHAPE: 11}
    rows = [_gpu(n, t, dense=True, flops=2 * 4096 * 256 * 4096 / (t * 1e-6), ai=100.0, l2_cold=1) for n, t in dense.items()]
    rows += [
        _gpu(f"spmm/cuda/csr_tiled/{SHAPE}/sparsity:0.90/pattern:random", 50),
        _gpu(f"spmm/cuda/csr_tiled/{SHAPE}/sparsity:0.50/pattern:random", 150),
        _gpu(f"spmm/cusparse/csr/{SHAPE}/sparsity:0.90/pattern:random", 80, peer=True),
        _gpu(f"spmm/cusparselt/{SHAPE}/sparsity:0.50/pattern:2:4/dtype:bf16", 14, peer=True),
        _gpu(f"spmm/cusparselt/{SHAPE}/sparsity:0.50/pattern:2:4/dtype:f16", 21, peer=True, gpu_throttled=1),
    ]
    return rows


def test_each_sparse_row_is_judged_at_its_own_its_allowed_and_any_precision():
    sp = {s["row"].name: s for s in analysis.speedups(_rows(), analysis.precision_accepts(CTX))}
    fp32 = sp[f"spmm/cuda/csr_tiled/{SHAPE}/sparsity:0.90/pattern:random"]
    assert fp32["speedup"] == pytest.approx(2.0)              # against cuBLAS FP32
    assert fp32["speedup_accepted"] == pytest.approx(0.8)     # TF32 dense is allowed for FP32 inputs: 40 us
    assert analysis.dtype(fp32["baseline_accepted"]) == "tf32"
    assert fp32["speedup_any"] == pytest.approx(11 / 50)      # FP8 dense, at any precision
    bf16 = sp[f"spmm/cusparselt/{SHAPE}/sparsity:0.50/pattern:2:4/dtype:bf16"]
    assert bf16["speedup"] == pytest.approx(20 / 14) and bf16["speedup_accepted"] == pytest.approx(20 / 14)
    f16 = sp[f"spmm/cusparselt/{SHAPE}/sparsity:0.50/pattern:2:4/dtype:f16"]
    assert f16["speedup"] == pytest.approx(22 / 21)           # beats FP16 dense ...
    assert f16["speedup_accepted"] == pytest.approx(20 / 21)  # ... but not BF16 dense, which its users may run


def test_without_the_context_a_precision_accepts_only_itself():
    sp = {s["row"].name: s for s in analysis.speedups(_rows())}
    assert sp[f"spmm/cuda/csr_tiled/{SHAPE}/sparsity:0.90/pattern:random"]["speedup_accepted"] == pytest.approx(2.0)


def test_gpu_overview_says_what_pays_per_precision_and_names_throttled_rows():
    g = analysis.gpu_overview(_rows(), CTX)
    pays = {(w["pattern"], w["sparsity"], w["dtype"]): w for w in g["what_pays"]}
    assert pays[("2:4", 0.5, "bf16")]["advice"] == "1.43x"
    assert pays[("2:4", 0.5, "f16")]["advice"] == "dense is faster"
    assert pays[("2:4", 0.5, "f16")]["baseline_accepted"] == "cublas/lt bf16"
    assert pays[("random", 0.9, "f32")]["advice"] == "dense is faster"  # 2x over FP32, 0.8x against TF32
    assert pays[("random", 0.9, "f32")]["speedup"] == pytest.approx(2.0)
    assert [t["name"] for t in g["throttled"]] == [f"spmm/cusparselt/{SHAPE}/sparsity:0.50/pattern:2:4/dtype:f16"]
    csr = next(e for e in g["spmm"] if e["row"].name.startswith("spmm/cuda/csr_tiled") and e["sparsity"] == 0.9)
    assert csr["peer"] == "cusparse/csr" and csr["vs_peer"] == pytest.approx(80 / 50)
    be = {b["series"]: b for b in g["break_even"]}
    assert be["cuda/csr_tiled random"]["break_even"] == pytest.approx(0.5 + 0.4 * (1 - 100 / 150) / (2 - 100 / 150))
    assert be["cuda/csr_tiled random"]["break_even_accepted"] is None  # never beats TF32 in the measured range
    assert set(g["roofs"]["peak"]) == {"f32", "tf32", "f16", "bf16", "i8", "e4m3"}


def test_a_sparse_gpu_row_above_its_precisions_dense_peak_is_flagged():
    rows = _rows()
    # 2:4 doubles the math rate on the kept half: useful FLOP/s stay at or below the dense peak of the precision.
    peak = 2 * 4096 * 256 * 4096 / 20e-6
    rows.append(_gpu(f"spmm/cusparselt/M:8192/N:8192/K:8192/sparsity:0.50/pattern:2:4/dtype:bf16", 1000,
                     flops=1.3 * peak, ai=500.0, l2_cold=1))
    flagged = [f for f in analysis.above_roof({}, rows) if "cusparselt/M:8192" in f["name"]]
    assert len(flagged) == 1 and "130% of the bf16 GEMM peak roof" in flagged[0]["reason"]


def test_pays_from_names_the_smallest_size_after_which_every_larger_one_pays():
    rows = _rows()
    for shape, dense_us, sparse_us in (("M:4096/N:16/K:4096", 10, 12), ("M:4096/N:2048/K:4096", 400, 300)):
        rows.append(_gpu(f"gemm/cublas/lt/{shape}/dtype:bf16", dense_us, dense=True))
        rows.append(_gpu(f"spmm/cusparselt/{shape}/sparsity:0.50/pattern:2:4/dtype:bf16", sparse_us, peer=True))
    g = analysis.gpu_overview(rows, CTX)
    p = next(p for p in g["pays_from"] if p["series"] == "cusparselt 2:4 bf16")
    assert [v for _, v in p["points"]] == pytest.approx([10 / 12, 20 / 14, 400 / 300])
    assert p["from"] == (4096, 256, 4096)


def test_the_report_shows_what_pays_per_precision_and_the_break_even():
    from pbtools import report_html
    html = "".join(report_html.gpu_section(CTX, analysis.gpu_overview(_rows(), CTX)))
    assert "What pays here (GPU)" in html and "dense is faster (cublas/lt bf16)" in html
    assert "Break-even sparsity per format and precision" in html and "cuda/csr_tiled random" in html
    assert "measured while NVML reported a slowdown" in html

