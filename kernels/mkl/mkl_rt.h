// oneMKL, reached through its single dynamic library (libmkl_rt) opened with dlopen, never linked.
//
// Why not link it like OpenBLAS: both libraries export cblas_sgemm. Linked into one binary, every call to
// cblas_sgemm goes to whichever library the dynamic linker meets first, so one of the two "backends" would silently
// time the other library. libmkl_rt is opened RTLD_LOCAL | RTLD_DEEPBIND and called only through the pointers
// below. (It loads its own layer libraries into the global scope, but after the binary's dependencies, so a global
// lookup of cblas_sgemm still finds OpenBLAS first: Gemm.OpenBlasRowsCallOpenBlasWithOneMklLoaded.)
//
// Include only where PB_HAVE_MKL is defined (the build found mkl.h).
#pragma once
#include <mkl.h>

#include <string>

namespace pb::mkl {

struct Rt {
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&MKL_Set_Num_Threads_Local) set_num_threads_local = nullptr;
  decltype(&MKL_Set_Dynamic) set_dynamic = nullptr;
  decltype(&MKL_Get_Version) get_version = nullptr;
  decltype(&mkl_sparse_s_create_csr) sparse_s_create_csr = nullptr;
  decltype(&mkl_sparse_set_mm_hint) sparse_set_mm_hint = nullptr;
  decltype(&mkl_sparse_optimize) sparse_optimize = nullptr;
  decltype(&mkl_sparse_s_mm) sparse_s_mm = nullptr;
  decltype(&mkl_sparse_destroy) sparse_destroy = nullptr;
};

// The loaded library, or nullptr; why() says what failed (empty when loaded).
const Rt* rt();
std::string why();

// Runs the calling thread's next MKL calls on exactly `threads` threads (no dynamic adjustment).
void use_threads(const Rt& m, int threads);

}  // namespace pb::mkl
