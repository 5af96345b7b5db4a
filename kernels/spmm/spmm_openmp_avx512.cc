// avx512 instance of our SpMM kernels (see spmm_openmp_impl.h); gemm's CMake flags for this ISA apply.
#include "simd/simd_avx512.h"
#include "spmm_openmp_impl.h"

namespace pb::detail {
void spmm_openmp_csr_avx512(const SpmmArgs& g) { spmm_csr<SimdAvx512>(g); }
void spmm_openmp_bsr_avx512(const SpmmArgs& g) { spmm_bsr<SimdAvx512>(g); }
void spmm_openmp_nm_avx512(const SpmmArgs& g) { spmm_nm<SimdAvx512>(g); }
}  // namespace pb::detail
