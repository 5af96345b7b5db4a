// avx2 instance of our SpMM kernels (see spmm_openmp_impl.h); gemm's CMake flags for this ISA apply.
#include "simd/simd_avx2.h"
#include "spmm_openmp_impl.h"

namespace pb::detail {
void spmm_openmp_csr_avx2(const SpmmArgs& g) { spmm_csr<SimdAvx2>(g); }
void spmm_openmp_bsr_avx2(const SpmmArgs& g) { spmm_bsr<SimdAvx2>(g); }
void spmm_openmp_nm_avx2(const SpmmArgs& g) { spmm_nm<SimdAvx2>(g); }
}  // namespace pb::detail
