// Our SpMM kernels (CSR, BSR, N:M), templated on the SIMD traits of kernels/simd/; included by one translation
// unit per ISA (internal linkage throughout, as in gemm_openmp_impl.h). One file per kernel, each with its design
// and what was measured for it:
//   spmm_openmp_row_tile.h    a row's non-zeros against a tile of B in registers, and N = 1's dot products
//   spmm_openmp_slices.h      K panels, packed B slices, prefetching, column tiles: how the kernels walk B
//   spmm_openmp_csr.h         csr, csr_wide: B's slice in L2
//   spmm_openmp_csr_l1.h      csr_l1: K panels whose slice of B fills L1
//   spmm_openmp_nm.h          nm: N:M rows through csr_l1's panels
//   spmm_openmp_bsr.h         bsr: block rows sharing each B load
//   spmm_openmp_csr_rt.h      csr_rt4, csr_rt6: register tiles of rows that share columns
//   spmm_openmp_csr_stream.h  csr_stream: C's row in L1, B rows read whole
//   spmm_openmp_csr_auto.h    csr_auto: picks one of the others at set-up, by trials
#pragma once
#include <string>
#include <vector>

#include "prunebench/spmm.h"
#include "spmm_openmp_csr.h"
#include "spmm_openmp_csr_l1.h"
#include "spmm_openmp_nm.h"
#include "spmm_openmp_bsr.h"
#include "spmm_openmp_csr_rt.h"
#include "spmm_openmp_csr_stream.h"
#include "spmm_openmp_csr_auto.h"

namespace {

using pb::index_t;

std::string openmp_always() { return {}; }

// The registry entries of the openmp SpMM kernels, one line each. They sit here, where every template is included,
// because each ISA translation unit (spmm_openmp_<isa>.cc) instantiates the whole table: spmm_kernels() takes the
// widest instance this CPU runs, the tests take every instance. A new variant is its template (a file of its own,
// included above) and one line here.
template <class T>
std::vector<pb::Kernel<pb::SpmmFn>> openmp_spmm_table() {
  using pb::pattern_fits_bsr, pb::pattern_fits_csr, pb::pattern_fits_nm;
  return {
      {{"spmm", "openmp", "csr", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr<T>},
      {{"spmm", "openmp", "bsr", {"bsr"}, openmp_always, pattern_fits_bsr}, spmm_bsr<T>},
      {{"spmm", "openmp", "nm", {"nm"}, openmp_always, pattern_fits_nm}, spmm_nm<T>},
      {{"spmm", "openmp", "csr_wide", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_wide<T>},
      {{"spmm", "openmp", "csr_rt4", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_rt4<T>},
      {{"spmm", "openmp", "csr_rt6", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_rt6<T>},
      {{"spmm", "openmp", "csr_l1", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_l1<T>},
      {{"spmm", "openmp", "csr_stream", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_stream<T>},
      {{"spmm", "openmp", "csr_auto", {"csr"}, openmp_always, pattern_fits_csr}, spmm_csr_auto<T>},
  };
}

}  // namespace
