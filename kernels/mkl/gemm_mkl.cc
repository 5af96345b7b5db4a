// mkl: oneMKL's cblas_sgemm, the dense library most CPU users compare against (loaded as in mkl_rt.h).
#include <cstring>

#include "prunebench/gemm.h"

#ifdef PB_HAVE_MKL
#include "mkl_rt.h"
#endif

namespace pb {

void gemm_mkl(const GemmArgs& g) {
#ifdef PB_HAVE_MKL
  const mkl::Rt* m = mkl::rt();
  if (!m || g.M == 0 || g.N == 0) return;  // unavailable: the registry says why, nothing runs it
  if (g.K == 0) {  // BLAS requires lda >= max(1, K); the product is zero anyway
    for (index_t i = 0; i < g.M; ++i) std::memset(g.C + i * g.ldc, 0, sizeof(float) * g.N);
    return;
  }
  mkl::use_threads(*m, g.threads);
  m->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<MKL_INT>(g.M), static_cast<MKL_INT>(g.N),
           static_cast<MKL_INT>(g.K), 1.0f, g.A, static_cast<MKL_INT>(g.lda), g.B, static_cast<MKL_INT>(g.ldb), 0.0f,
           g.C, static_cast<MKL_INT>(g.ldc));
#else
  (void)g;
#endif
}

}  // namespace pb
