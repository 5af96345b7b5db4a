"""tests/check_peak_disassembly.sh on hand-written objects with known answers: a spill after the FMA loop (the
horizontal sum of a -march=native build) is fine, one inside it is not, too few FMAs are not, and a machine
without objdump fails instead of passing."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "check_peak_disassembly.sh"
pytestmark = pytest.mark.skipif(not (shutil.which("as") and shutil.which("ar") and shutil.which("objdump")),
                                reason="needs binutils (as, ar, objdump)")


def chains(name, n_fma, spill_in_loop=False, spill_after=False):
    lines = [f".globl {name}", f"{name}:", "  xor %eax, %eax", f".L{name}:"]
    lines += [f"  vfmadd231ps %ymm{i % 14}, %ymm14, %ymm15" for i in range(n_fma)]
    if spill_in_loop:
        lines.append("  vmovups %ymm0, -32(%rsp)")
    lines += ["  inc %eax", "  cmp $100, %eax", f"  jne .L{name}"]
    if spill_after:
        lines.append("  vmovups %ymm1, -64(%rsp)")
    return "\n".join(lines + ["  ret", ""])


def library(tmp_path, n2=12, n512=16, **kw):
    objs = []
    for obj, n in (("peak_openmp_avx2.cc.o", n2), ("peak_openmp_avx512.cc.o", n512)):
        src = tmp_path / (obj + ".s")
        src.write_text(".text\n" + chains("chains_f32", n, **kw) + chains("chains_f64", n, **kw))
        subprocess.run(["as", str(src), "-o", str(tmp_path / obj)], check=True)
        objs.append(str(tmp_path / obj))
    lib = tmp_path / "libpb_kernels.a"
    subprocess.run(["ar", "rcs", str(lib), *objs], check=True)
    return lib


def check(lib, env=None):
    r = subprocess.run(["bash", str(SCRIPT), str(lib)], capture_output=True, text=True, env=env)
    return r.returncode, r.stdout + r.stderr


def test_a_spill_after_the_loop_passes(tmp_path):
    rc, out = check(library(tmp_path, spill_after=True))
    assert rc == 0, out
    assert "hot loop has 12 FMA instructions, 0 stack references" in out


def test_a_spill_inside_the_loop_fails(tmp_path):
    rc, out = check(library(tmp_path, spill_in_loop=True))
    assert rc == 1 and "1 stack references" in out


def test_too_few_fmas_fail(tmp_path):
    rc, out = check(library(tmp_path, n2=8))
    assert rc == 1


def test_no_objdump_fails(tmp_path):
    lib = library(tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "awk", "mawk", "env"):  # a PATH with the shell tools but no binutils
        if shutil.which(tool):
            os.symlink(shutil.which(tool), bindir / tool)
    rc, out = check(lib, env={"PATH": str(bindir)})
    assert rc == 1 and "objdump not found" in out
