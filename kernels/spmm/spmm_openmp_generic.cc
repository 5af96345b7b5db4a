// generic instance of our SpMM kernels (see spmm_openmp_impl.h); gemm's CMake flags for this ISA apply.
#include "simd/simd_generic.h"
#include "spmm_openmp_impl.h"

namespace pb::detail {
std::vector<Kernel<SpmmFn>> spmm_openmp_table_generic() { return openmp_spmm_table<SimdGeneric>(); }
}  // namespace pb::detail
