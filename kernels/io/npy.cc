// NumPy .npy loader (format versions 1.0, 2.0, 3.0): 2-D, C order, little-endian float32 or float64.
// The data size implied by the header must equal the bytes the file actually has, so a hostile shape cannot
// trigger an absurd allocation.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>

#include "prunebench/io.h"

namespace pb::io {

namespace {
[[noreturn]] void fail(const std::string& name, const std::string& why) { throw IoError(name + ": " + why); }

std::uint32_t read_le(const std::string& b, std::size_t at, int bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}
}  // namespace

NpyMatrix parse_npy(const std::string& b, const std::string& name) {
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) fail(name, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3) fail(name, "unsupported .npy format version " + std::to_string(major));
  const int len_bytes = major == 1 ? 2 : 4;
  if (b.size() < static_cast<std::size_t>(8 + len_bytes)) fail(name, "truncated header");
  const std::uint32_t hlen = read_le(b, 8, len_bytes);
  const std::size_t data_at = 8 + len_bytes + static_cast<std::size_t>(hlen);
  if (hlen > (1u << 20) || data_at > b.size()) fail(name, "truncated header (header length " + std::to_string(hlen) + ")");
  const std::string h = b.substr(8 + len_bytes, hlen);

  std::smatch m;
  if (!std::regex_search(h, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) fail(name, "header has no 'descr'");
  const std::string descr = m[1];
  int item = 0;
  if (descr == "<f4") {
    item = 4;
  } else if (descr == "<f8") {
    item = 8;
  } else {
    fail(name, "dtype '" + descr + "' not supported (float32 '<f4' or float64 '<f8')");
  }
  if (!std::regex_search(h, m, std::regex(R"('fortran_order'\s*:\s*(True|False))"))) fail(name, "header has no 'fortran_order'");
  if (m[1] == "True") fail(name, "Fortran-ordered array not supported (save it with np.ascontiguousarray)");
  if (!std::regex_search(h, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) fail(name, "header has no 'shape'");
  const std::string shape = m[1];
  std::vector<std::uint64_t> dims;
  std::regex num(R"(\s*(\d{1,19})\s*(,|$))");
  for (auto it = std::sregex_iterator(shape.begin(), shape.end(), num); it != std::sregex_iterator(); ++it)
    dims.push_back(std::stoull((*it)[1]));
  if (dims.size() != 2) fail(name, "expected a 2-D array, shape is (" + shape + ")");
  const std::uint64_t limit = std::numeric_limits<std::int32_t>::max();
  if (dims[0] > limit || dims[1] > limit) fail(name, "shape (" + shape + ") too large");
  const std::uint64_t count = dims[0] * dims[1];
  const std::uint64_t have = b.size() - data_at;
  if (count > have / item || count * item != have)
    fail(name, (count * item > have ? "truncated: " : "trailing bytes: ") + std::string("shape (") + shape + ") needs " +
                   std::to_string(count * item) + " data bytes, file has " + std::to_string(have));
  NpyMatrix out;
  out.rows = static_cast<index_t>(dims[0]);
  out.cols = static_cast<index_t>(dims[1]);
  out.data.resize(static_cast<std::size_t>(count));
  const char* p = b.data() + data_at;
  if (item == 4) {
    std::memcpy(out.data.data(), p, count * 4);
  } else {
    for (std::uint64_t i = 0; i < count; ++i) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      out.data[i] = static_cast<float>(d);
    }
  }
  for (float x : out.data)
    if (!std::isfinite(x)) fail(name, "contains NaN or infinity (or a float64 outside float32 range)");
  return out;
}

NpyMatrix load_npy(const std::string& path) { return parse_npy(read_file(path, std::int64_t{8} << 30), path); }

void save_npy(const std::string& path, const float* data, index_t rows, index_t cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // Pad so the data starts 64-byte aligned, newline-terminated (as NumPy writes it).
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw IoError(path + ": cannot create");
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(magic, 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff), static_cast<unsigned char>(header.size() >> 8)};
  f.write(reinterpret_cast<const char*>(len), 2);
  f << header;
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(sizeof(float) * rows * cols));
  if (!f) throw IoError(path + ": write error");
}

}  // namespace pb::io
