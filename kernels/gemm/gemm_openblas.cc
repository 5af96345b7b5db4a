// openblas: cblas_sgemm, the CPU reference a user would pick instead of our kernels.
#include "prunebench/gemm.h"

#ifdef PB_HAVE_OPENBLAS
#include <cblas.h>
#include <cstring>
#endif

namespace pb {

void gemm_openblas(const GemmArgs& g) {
#ifdef PB_HAVE_OPENBLAS
  if (g.M == 0 || g.N == 0) return;
  if (g.K == 0) {  // BLAS requires lda >= max(1, K); the product is zero anyway.
    for (index_t i = 0; i < g.M; ++i) std::memset(g.C + i * g.ldc, 0, sizeof(float) * g.N);
    return;
  }
  openblas_set_num_threads(g.threads);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(g.M), static_cast<blasint>(g.N),
              static_cast<blasint>(g.K), 1.0f, g.A, static_cast<blasint>(g.lda), g.B, static_cast<blasint>(g.ldb),
              0.0f, g.C, static_cast<blasint>(g.ldc));
#else
  (void)g;
#endif
}

}  // namespace pb
