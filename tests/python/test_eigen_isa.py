"""Eigen is compiled, not dispatched: a portable build's Eigen runs SSE2 on an AVX-512 machine, and the scripts must
say so wherever its rows are read as a peer, and refuse to compare it with a native build's Eigen unremarked."""
from pbtools.results import context_differences, eigen_isa_note
from pbtools import summary_text, ceilings

AVX512 = "avx512f avx2 fma avx sse2"


def test_note_names_the_gap_only_where_eigen_is_below_the_machine():
    note = eigen_isa_note({"eigen_isa": "sse2", "isa": AVX512, "isa_cap": "none"})
    assert note and "sse2" in note and "avx512" in note
    assert eigen_isa_note({"eigen_isa": "avx2", "isa": "avx2 fma avx sse2"}) is None
    assert eigen_isa_note({"eigen_isa": "avx512", "isa": AVX512}) is None
    assert "avx2" in eigen_isa_note({"eigen_isa": "sse2", "isa": "avx2 fma avx sse2"})
    # Under PB_MAX_ISA the rows already carry the cap's reason; older files without the key say nothing.
    assert eigen_isa_note({"eigen_isa": "sse2", "isa": AVX512, "isa_cap": "avx2"}) is None
    assert eigen_isa_note({"isa": AVX512}) is None


def test_eigen_isa_is_a_comparable_key():
    assert context_differences({"eigen_isa": "sse2"}, {"eigen_isa": "avx512"}) == [
        "eigen_isa: base 'sse2', head 'avx512'"]


def test_summary_prints_the_note(capsys):
    ctx = {"eigen_isa": "sse2", "isa": AVX512, "cpu_model": "x", "cores": "2"}
    summary_text.print_summary(ctx, [], ceilings.compute(ctx, []))
    assert "Eigen was compiled for sse2 on this avx512 machine" in capsys.readouterr().out
