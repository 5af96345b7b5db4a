// generic instance of our SpMM kernels (see spmm_openmp_impl.h); gemm's CMake flags for this ISA apply.
#include "simd/simd_generic.h"
#include "spmm_openmp_impl.h"

namespace pb::detail {
void spmm_openmp_csr_generic(const SpmmArgs& g) { spmm_csr<SimdGeneric>(g); }
void spmm_openmp_bsr_generic(const SpmmArgs& g) { spmm_bsr<SimdGeneric>(g); }
void spmm_openmp_nm_generic(const SpmmArgs& g) { spmm_nm<SimdGeneric>(g); }
}  // namespace pb::detail
