// fp32 2-D convolution, NCHW activations, KCRS filters, stride and zero padding (dilation 1, groups 1).
// y[n, k, oh, ow] = sum_{c, r, s} w[k, c, r, s] * x[n, c, oh*stride + r - pad, ow*stride + s - pad]
#pragma once
#include <string>
#include <vector>

#include "prunebench/registry.h"
#include "prunebench/sparse.h"
#include "prunebench/spmm.h"

namespace pb {

struct ConvShape {
  index_t N = 1, C = 1, H = 1, W = 1, K = 1, R = 1, S = 1, stride = 1, pad = 0;
  index_t OH() const { return (H + 2 * pad - R) / stride + 1; }
  index_t OW() const { return (W + 2 * pad - S) / stride + 1; }
  bool valid() const { return N >= 0 && C >= 1 && K >= 1 && R >= 1 && S >= 1 && stride >= 1 && pad >= 0 &&
                              H + 2 * pad >= R && W + 2 * pad >= S; }
  // Nominal: every tap of every output, padding included (the `dense_flops` counter). The useful count, which
  // the `flops` counter reports, is conv_useful_flops().
  double flops() const { return 2.0 * N * K * OH() * OW() * C * R * S; }
};

// Per filter tap t along one axis: how many of the `out` outputs read an input inside [0, in) through it.
std::vector<index_t> conv_taps_inside(index_t in, index_t out, index_t taps, index_t stride, index_t pad);
// Useful FLOPs: 2 per multiply-add whose input tap lies inside the image (taps over the zero padding excluded),
// for the dense filters of s, or for the non-zeros of w (K x C*R*S, columns ordered c, r, s).
double conv_useful_flops(const ConvShape& s);
double conv_useful_flops(const ConvShape& s, const Csr& w);

struct ConvArgs {
  ConvShape s;
  const float* x = nullptr;  // N x C x H x W
  const float* w = nullptr;  // K x C x R x S (dense kernels)
  // Pruned filters, K x (C*R*S), in the format the kernel names (sparse kernels). Dense kernels may keep their own
  // packing of w in its `prepared` slot, whose owner resets it when the weights change.
  const SparseWeights* wsp = nullptr;
  float* y = nullptr;        // N x K x OH x OW
  int threads = 1;
  // false inside a timing loop: a library that keeps activations in its own layout (oneDNN) may skip converting
  // the output back to NCHW, as a network would between layers.
  bool output_needed = true;
};
using ConvFn = void (*)(const ConvArgs&);

void conv_naive(const ConvArgs& a);          // direct seven-loop
void conv_eigen_im2col(const ConvArgs& a);   // im2col + Eigen GEMM
void conv_openmp(const ConvArgs& a);         // 1x1/stride 1/pad 0 as one GEMM; otherwise im2col + our GEMM
// Dense filters without im2col: register tiles of output channels x outputs of a row over a padded input copy
// (conv_dense_direct_impl.h); 1x1 layers (stride 1, no padding) as register-tiled GEMMs over the input as it lies
// (conv_dense_pointwise_impl.h); strides above 2 go to conv_openmp. Every ISA instance for the tests.
void conv_openmp_direct(const ConvArgs& a);
std::vector<std::pair<std::string, ConvFn>> conv_dense_direct_isa_variants();
void conv_onednn(const ConvArgs& a);         // oneDNN's own choice of algorithm and layouts
// The implementation oneDNN chose for this problem and thread count (its impl_info_str, e.g. "brg:avx512_core");
// runs the convolution once to get it. Empty without oneDNN.
std::string conv_onednn_impl(const ConvArgs& a);
// CSR filters streamed against the input, no im2col: per output channel, register tiles of whole output rows
// (conv_sparse_direct_impl.h), the widest ISA instance the CPU runs; every instance for the tests.
void conv_openmp_sparse_direct(const ConvArgs& a);
std::vector<std::pair<std::string, ConvFn>> conv_sparse_direct_isa_variants();
void conv_openmp_sparse_im2col(const ConvArgs& a);  // im2col + our CSR SpMM
void conv_openmp_bsr_im2col(const ConvArgs& a);     // block-pruned filters (blocks along C*R*S): im2col + BSR SpMM
void conv_openmp_nm_im2col(const ConvArgs& a);      // N:M-pruned filters (along C*R*S): im2col + N:M SpMM
// The faster of the CSR kernels above for this layer and thread count, picked at set-up by timing both on the call's
// operands (kernels/conv/conv_sparse_auto.cc); the pick is the weights' PreparedForm::chosen.
void conv_openmp_sparse_auto(const ConvArgs& a);

const std::vector<Kernel<ConvFn>>& conv_kernels();

// im2col of one image: rows (c, r, s), columns (oh, ow): (C*R*S) x (OH*OW), zeros where the window hangs over
// the padding.
void im2col(const ConvShape& s, const float* x_image, float* cols, int threads = 1);  // channels split
// Columns [j0, j1) of it (output positions oh OW + ow), rows j1 - j0 floats apart.
void im2col_columns(const ConvShape& s, const float* x_image, float* cols, index_t j0, index_t j1);

}  // namespace pb
