// eigen: Eigen's sparse (row-major CSR) x dense product on mapped buffers, the library answer. Eigen runs it
// with OpenMP over rows when given threads.
#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "prunebench/spmm.h"

namespace pb {

void spmm_eigen_csr(const SpmmArgs& g) {
  const Csr& A = g.W->csr;
  if (A.rows == 0 || g.N == 0) return;
  using Sp = Eigen::SparseMatrix<float, Eigen::RowMajor, std::int32_t>;
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const Sp> S(A.rows, A.cols, A.nnz(), A.rowptr.data(), A.colidx.data(), A.values.data());
  Eigen::Map<const RowMajor, Eigen::Unaligned, Stride> B(g.B, A.cols, g.N, Stride(g.ldb));
  Eigen::Map<RowMajor, Eigen::Unaligned, Stride> C(g.C, A.rows, g.N, Stride(g.ldc));
  Eigen::setNbThreads(g.threads);
  C.noalias() = S * B;
}

}  // namespace pb
