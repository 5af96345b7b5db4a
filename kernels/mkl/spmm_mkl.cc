// mkl/csr: oneMKL's inspector-executor SpMM, the sparse library the published CPU results compare against.
// Set-up (mkl_sparse_s_create_csr, the hint that N-column row-major products follow, mkl_sparse_optimize: MKL's
// analysis of the pattern) runs on the kernel's first call for these weights, N and thread count — in a benchmark
// that is the verification call, before timing — and the handle rides on the weights for the timed calls.
#include <cstring>
#include <memory>
#include <string>

#include "prunebench/spmm.h"

#ifdef PB_HAVE_MKL
#include "mkl_rt.h"
#endif

namespace pb {

#ifdef PB_HAVE_MKL
namespace {
struct Handle {
  const mkl::Rt* m = nullptr;
  sparse_matrix_t A = nullptr;
  matrix_descr descr{};
  ~Handle() {
    if (A) m->sparse_destroy(A);
  }
};

std::shared_ptr<Handle> make_handle(const mkl::Rt& m, const SpmmArgs& g) {
  const Csr& a = g.W->csr;
  auto h = std::make_shared<Handle>();
  h->m = &m;
  h->descr.type = SPARSE_MATRIX_TYPE_GENERAL;
  // MKL keeps these pointers (it does not copy the arrays); the weights outlive the handle, which they own.
  auto* rowptr = const_cast<MKL_INT*>(reinterpret_cast<const MKL_INT*>(a.rowptr.data()));
  auto* col = const_cast<MKL_INT*>(reinterpret_cast<const MKL_INT*>(a.colidx.data()));
  auto* val = const_cast<float*>(a.values.data());
  if (m.sparse_s_create_csr(&h->A, SPARSE_INDEX_BASE_ZERO, static_cast<MKL_INT>(a.rows), static_cast<MKL_INT>(a.cols),
                            rowptr, rowptr + 1, col, val) != SPARSE_STATUS_SUCCESS)
    return nullptr;
  mkl::use_threads(m, g.threads);
  m.sparse_set_mm_hint(h->A, SPARSE_OPERATION_NON_TRANSPOSE, h->descr, SPARSE_LAYOUT_ROW_MAJOR,
                       static_cast<MKL_INT>(g.N), 1000);
  if (m.sparse_optimize(h->A) != SPARSE_STATUS_SUCCESS) return nullptr;
  return h;
}
}  // namespace
#endif

void spmm_mkl_csr(const SpmmArgs& g) {
#ifdef PB_HAVE_MKL
  static_assert(sizeof(MKL_INT) == sizeof(std::int32_t), "LP64 interface: MKL_INT is our 32-bit CSR index");
  const mkl::Rt* m = mkl::rt();
  const SparseWeights& W = *g.W;
  if (!m || W.M == 0 || g.N == 0) return;
  if (W.K == 0 || W.csr.nnz() == 0) {  // nothing to multiply: MKL is not asked to analyse an empty matrix
    for (index_t i = 0; i < W.M; ++i) std::memset(g.C + i * g.ldc, 0, sizeof(float) * g.N);
    return;
  }
  const std::string key = "mkl/" + std::to_string(g.N) + "/" + std::to_string(g.threads);
  const auto* h = static_cast<const Handle*>(W.prepared.get(key, [&] { return make_handle(*m, g); }));
  if (!h) return;  // MKL refused the matrix: C stays as it was and the oracle check says so
  mkl::use_threads(*m, g.threads);
  m->sparse_s_mm(SPARSE_OPERATION_NON_TRANSPOSE, 1.0f, h->A, h->descr, SPARSE_LAYOUT_ROW_MAJOR, g.B,
                 static_cast<MKL_INT>(g.N), static_cast<MKL_INT>(g.ldb), 0.0f, g.C, static_cast<MKL_INT>(g.ldc));
#else
  (void)g;
#endif
}

}  // namespace pb
