// Opens libmkl_rt once (see mkl_rt.h for why it is not linked) and selects the layers our kernels need: GNU
// OpenMP threading, so MKL's workers are the same libgomp pool as ours, and the LP64 interface (32-bit indices,
// what our CSR arrays hold).
#include "mkl_rt.h"

#include <dlfcn.h>

#include <cstdio>

#include <mutex>

#include "prunebench/mkl.h"

namespace pb::mkl {

namespace {
struct Loaded {
  Rt rt;
  std::string why;
};

template <class F>
bool sym(void* h, const char* name, F& f, std::string& why) {
  f = reinterpret_cast<F>(dlsym(h, name));
  if (!f && why.empty()) why = std::string("libmkl_rt lacks ") + name;
  return f != nullptr;
}

Loaded load() {
  Loaded l;
  void* h = dlopen(PB_MKL_RT_PATH, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!h) {
    const char* e = dlerror();
    l.why = std::string("oneMKL could not be loaded: ") + (e ? e : PB_MKL_RT_PATH);
    return l;
  }
  // The layers are chosen before any other MKL call, or MKL picks its own (Intel OpenMP).
  decltype(&MKL_Set_Threading_Layer) threading = nullptr;
  decltype(&MKL_Set_Interface_Layer) interface = nullptr;
  std::string why;
  sym(h, "MKL_Set_Threading_Layer", threading, why);
  sym(h, "MKL_Set_Interface_Layer", interface, why);
  Rt& r = l.rt;
  sym(h, "cblas_sgemm", r.sgemm, why);
  sym(h, "MKL_Set_Num_Threads_Local", r.set_num_threads_local, why);
  sym(h, "MKL_Set_Dynamic", r.set_dynamic, why);
  sym(h, "MKL_Get_Version", r.get_version, why);
  sym(h, "mkl_sparse_s_create_csr", r.sparse_s_create_csr, why);
  sym(h, "mkl_sparse_set_mm_hint", r.sparse_set_mm_hint, why);
  sym(h, "mkl_sparse_optimize", r.sparse_optimize, why);
  sym(h, "mkl_sparse_s_mm", r.sparse_s_mm, why);
  sym(h, "mkl_sparse_destroy", r.sparse_destroy, why);
  if (!why.empty()) {
    l.why = why;
    return l;
  }
  if (threading(MKL_THREADING_GNU) != MKL_THREADING_GNU || interface(MKL_INTERFACE_LP64) != MKL_INTERFACE_LP64) {
    l.why = "oneMKL refused the GNU OpenMP threading layer or the LP64 interface";
    return l;
  }
  r.set_dynamic(0);  // run on the count a row asks for, not on what MKL thinks best
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}
}  // namespace

const Rt* rt() { return loaded().why.empty() ? &loaded().rt : nullptr; }
std::string why() { return loaded().why; }

void use_threads(const Rt& m, int threads) { m.set_num_threads_local(threads > 0 ? threads : 1); }

}  // namespace pb::mkl

namespace pb {

std::string mkl_unavailable() { return mkl::why(); }

std::string mkl_version() {
  const mkl::Rt* m = mkl::rt();
  if (!m) return "not loaded";
  MKLVersion v{};
  m->get_version(&v);
  // MKL numbers its releases year.update ("2026.2"); MinorVersion stays 0 in that scheme. (snprintf: GCC 12 warns
  // falsely about chains of std::string operator+.)
  char buf[128];
  std::snprintf(buf, sizeof buf, "%d.%d%s%s%s", v.MajorVersion, v.UpdateVersion, v.Build ? " (build " : "",
                v.Build ? v.Build : "", v.Build ? ")" : "");
  return buf;
}

std::string mkl_code_path() {
  const mkl::Rt* m = mkl::rt();
  if (!m) return "not loaded";
  MKLVersion v{};
  m->get_version(&v);
  return v.Processor ? v.Processor : "unknown";
}

}  // namespace pb
