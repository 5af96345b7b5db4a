#!/usr/bin/env bash
# Proof from the machine code that the peak kernels measure what they claim: in the AVX2 (and AVX-512) FMA-chain
# loops every chain is its own FMA instruction on its own register, and nothing is spilled to the stack.
# Only the hot loop counts: the code after it (the horizontal sum of the chains, which a -march=native build may
# keep on the stack) runs once per call and says nothing about the measured throughput. The loop is the
# backward branch whose body holds the most FMAs.
#   usage: check_peak_disassembly.sh LIBPB_KERNELS.a
set -euo pipefail
lib=$1
# Without objdump nothing is proven: fail (binutils comes with g++), never pass silently.
command -v objdump >/dev/null || { echo "objdump not found: cannot check the peak kernels (install binutils)"; exit 1; }
status=0
for member in peak_openmp_avx2.cc.o:12 peak_openmp_avx512.cc.o:16; do
  obj=${member%%:*} want=${member##*:}
  dis=$(objdump -d --no-show-raw-insn "$lib" 2>/dev/null | awk -v m="$obj" '
    /^In archive|file format/ { on = index($0, m) > 0 } on')
  [ -n "$dis" ] || { echo "$obj: not in $lib"; status=1; continue; }
  # Each chains<F32>/chains<F64> instance: its hottest loop's FMAs and stack references.
  echo "$dis" | awk -v want="$want" -v obj="$obj" '
    function pad(h) { return substr("0000000000000000", 1, 16 - length(h)) h }  # hex compares as text
    function finish(   i, j, t, nf, ns, best, bstk) {
      if (fn == "") return
      best = -1; bstk = 0
      for (i = 1; i <= n; i++) {
        if (op[i] !~ /^j/ || tgt[i] == "" || tgt[i] >= addr[i]) continue
        nf = 0; ns = 0
        for (j = 1; j <= i; j++) {
          if (addr[j] < tgt[i]) continue
          if (op[j] ~ /^vfmadd/) nf++
          if (line[j] ~ /\(%rsp\)|\(%rbp\)/) ns++
        }
        if (nf > best) { best = nf; bstk = ns }
      }
      funcs++
      if (best < 0) { printf "%s %s: no loop found\n", obj, fn; bad = 1; fn = ""; return }
      printf "%s %s: hot loop has %d FMA instructions, %d stack references\n", obj, fn, best, bstk
      if (best < want || bstk > 0) bad = 1
      fn = ""
    }
    /^[0-9a-f]+ <.*>:$/ { finish(); n = 0; if ($0 ~ /chains/) fn = $2; next }
    fn != "" && /^ *[0-9a-f]+:\t/ {
      split($0, f, "\t"); a = f[1]; sub(/^ */, "", a); sub(/:$/, "", a)
      n++; addr[n] = pad(a); line[n] = $0
      split(f[2], w, " "); op[n] = w[1]; tgt[n] = ""
      if (w[1] ~ /^j/ && w[2] ~ /^[0-9a-f]+$/) tgt[n] = pad(w[2])
    }
    END {
      finish()
      if (funcs == 0) { print obj ": no chains<> function found"; bad = 1 }
      exit bad }' || status=1
done
exit $status
