// oneMKL as a reference backend (gemm/mkl, spmm/mkl/csr): whether it is there, and what it runs.
#pragma once
#include <string>

namespace pb {

// Empty when oneMKL was found at configure time and loads here; otherwise the reason.
std::string mkl_unavailable();
// "2026.2.0", and the code path MKL dispatches to on this CPU (e.g. its AVX-512 kernels), for the run's context.
std::string mkl_version();
std::string mkl_code_path();

}  // namespace pb
