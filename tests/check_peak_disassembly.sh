#!/usr/bin/env bash
# Proof from the machine code that the peak kernels measure what they claim: in the AVX2 (and AVX-512) FMA-chain
# loops every chain is its own FMA instruction on its own register, and nothing is spilled to the stack.
#   usage: check_peak_disassembly.sh LIBPB_KERNELS.a
set -euo pipefail
lib=$1
command -v objdump >/dev/null || { echo "objdump not found: skipping"; exit 0; }
status=0
for member in peak_openmp_avx2.cc.o:12 peak_openmp_avx512.cc.o:16; do
  obj=${member%%:*} want=${member##*:}
  dis=$(objdump -d --no-show-raw-insn "$lib" 2>/dev/null | awk -v m="$obj" '
    /^In archive|file format/ { on = index($0, m) > 0 } on')
  [ -n "$dis" ] || { echo "$obj: not in $lib"; status=1; continue; }
  # Each chains<F32>/chains<F64> instance: count FMAs and stack references inside it.
  echo "$dis" | awk -v want="$want" -v obj="$obj" '
    /^[0-9a-f]+ <.*chains.*>:$/ { fn = $2; fma[fn] = 0; stk[fn] = 0; next }
    /^[0-9a-f]+ <.*>:$/ { fn = "" }
    fn != "" && /vfmadd/ { fma[fn]++ }
    fn != "" && /\(%rsp\)|\(%rbp\)/ { stk[fn]++ }
    END {
      n = 0; bad = 0
      for (f in fma) { n++; printf "%s %s: %d FMA instructions, %d stack references\n", obj, f, fma[f], stk[f]
                       if (fma[f] < want || stk[f] > 0) bad = 1 }
      if (n == 0) { print obj ": no chains<> function found"; bad = 1 }
      exit bad }' || status=1
done
exit $status
