// onednn: oneDNN's forward convolution, the reference a user would pick instead. It chooses its own algorithm
// and blocked layouts; as in a network, the weights and input are reordered into them once (cached per problem,
// outside timing) and only the primitive is timed — the output goes back to NCHW only when asked
// (ConvArgs::output_needed), for verification.
#include "prunebench/conv.h"

#ifdef PB_HAVE_ONEDNN
#include <omp.h>

#include <dnnl.hpp>
#include <memory>
#include <string>
#endif

namespace pb {

#ifdef PB_HAVE_ONEDNN
namespace {

struct Prepared {
  ConvShape s{};
  int threads = 0;  // oneDNN fixes its thread count when the primitive is created: part of the cache key
  std::string impl;  // the implementation oneDNN chose (impl_info_str), e.g. "brg:avx512_core"

  const float *x = nullptr, *w = nullptr;
  float* y = nullptr;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::convolution_forward conv;
  dnnl::memory src, wei, dst, y_user;
  dnnl::reorder dst_to_user;
};

bool same(const ConvShape& a, const ConvShape& b) {
  return a.N == b.N && a.C == b.C && a.H == b.H && a.W == b.W && a.K == b.K && a.R == b.R && a.S == b.S &&
         a.stride == b.stride && a.pad == b.pad;
}

std::unique_ptr<Prepared> prepare(const ConvArgs& a) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  auto p = std::make_unique<Prepared>();
  const ConvShape& s = a.s;
  p->s = s, p->x = a.x, p->w = a.w, p->y = a.y, p->threads = a.threads;
  const memory::dims xd = {s.N, s.C, s.H, s.W}, wd = {s.K, s.C, s.R, s.S}, yd = {s.N, s.K, s.OH(), s.OW()};
  auto d = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                     memory::desc(xd, dt::f32, tag::any), memory::desc(wd, dt::f32, tag::any),
                                     memory::desc(yd, dt::f32, tag::any), {s.stride, s.stride}, {s.pad, s.pad},
                                     {s.pad, s.pad});
  auto pd = convolution_forward::primitive_desc(d, p->eng);
  p->impl = pd.impl_info_str();
  p->conv = convolution_forward(pd);
  memory x_user({xd, dt::f32, tag::nchw}, p->eng, const_cast<float*>(a.x));
  memory w_user({wd, dt::f32, tag::oihw}, p->eng, const_cast<float*>(a.w));
  p->y_user = memory({yd, dt::f32, tag::nchw}, p->eng, a.y);
  p->src = memory(pd.src_desc(), p->eng);
  p->wei = memory(pd.weights_desc(), p->eng);
  p->dst = memory(pd.dst_desc(), p->eng);
  reorder(x_user, p->src).execute(p->strm, x_user, p->src);
  reorder(w_user, p->wei).execute(p->strm, w_user, p->wei);
  p->dst_to_user = reorder(p->dst, p->y_user);
  p->strm.wait();
  return p;
}

std::unique_ptr<Prepared>& onednn_cache() {
  static thread_local std::unique_ptr<Prepared> cache;
  return cache;
}

}  // namespace
#endif

std::string conv_onednn_impl(const ConvArgs& a) {
#ifdef PB_HAVE_ONEDNN
  conv_onednn(a);
  return onednn_cache()->impl;
#else
  (void)a;
  return {};
#endif
}

void conv_onednn(const ConvArgs& a) {
#ifdef PB_HAVE_ONEDNN
  // oneDNN's OpenMP runtime sizes its parallel regions from omp_get_max_threads() when the primitive is created,
  // and keeps that count: set it first, and rebuild the primitive when the row's thread count differs.
  omp_set_num_threads(a.threads);
  auto& cache = onednn_cache();
  if (!cache || !same(cache->s, a.s) || cache->threads != a.threads || cache->x != a.x || cache->w != a.w ||
      cache->y != a.y)
    cache = prepare(a);
  cache->conv.execute(cache->strm, {{DNNL_ARG_SRC, cache->src}, {DNNL_ARG_WEIGHTS, cache->wei}, {DNNL_ARG_DST, cache->dst}});
  if (a.output_needed) cache->dst_to_user.execute(cache->strm, cache->dst, cache->y_user);
  cache->strm.wait();
#else
  (void)a;
#endif
}

}  // namespace pb
