// avx512 instance of our SpMM kernels (see spmm_openmp_impl.h); gemm's CMake flags for this ISA apply.
#include "simd/simd_avx512.h"
#include "spmm_openmp_impl.h"

namespace pb::detail {
std::vector<Kernel<SpmmFn>> spmm_openmp_table_avx512() { return openmp_spmm_table<SimdAvx512>(); }
}  // namespace pb::detail
