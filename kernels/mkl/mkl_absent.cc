// Built when oneMKL was not found at configure time: its rows carry this reason.
#include "prunebench/mkl.h"

namespace pb {

std::string mkl_unavailable() {
  return "oneMKL was not found at configure time (pip install mkl-devel into .venv: ./scripts/test does)";
}
std::string mkl_version() { return "not built"; }
std::string mkl_code_path() { return "not built"; }

}  // namespace pb
