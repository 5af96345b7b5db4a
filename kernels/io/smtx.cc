// DLMC .smtx loader. Every size in the header is checked against the file's own length before anything is
// allocated from it, so a hostile header cannot make us allocate gigabytes.
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include "prunebench/io.h"

namespace pb::io {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& why) { throw IoError(name + ": " + why); }

struct Reader {
  const std::string& s;
  const std::string& name;
  std::size_t pos = 0;
  int line = 1;

  bool sep(char ch) const { return ch == ' ' || ch == ',' || ch == '\t' || ch == '\r'; }
  void skip_seps(bool allow_newline) {
    while (pos < s.size() && (sep(s[pos]) || (allow_newline && s[pos] == '\n'))) {
      if (s[pos] == '\n') ++line;
      ++pos;
    }
  }
  bool at_line_end() {
    skip_seps(false);
    return pos >= s.size() || s[pos] == '\n';
  }
  // A non-negative integer, below `limit`; `what` names it in errors.
  std::int64_t number(const char* what, std::int64_t limit) {
    skip_seps(true);
    if (pos >= s.size()) fail(name, std::string("truncated: expected ") + what + " at line " + std::to_string(line));
    if (s[pos] < '0' || s[pos] > '9') {
      std::string ch = s[pos] == '-' ? "a negative number" : std::string("'") + s[pos] + "'";
      fail(name, "line " + std::to_string(line) + ": expected " + what + ", found " + ch);
    }
    std::int64_t v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      v = v * 10 + (s[pos++] - '0');
      if (v > limit) fail(name, "line " + std::to_string(line) + ": " + what + " exceeds " + std::to_string(limit));
    }
    return v;
  }
};

}  // namespace

std::string read_file(const std::string& path, std::int64_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(path + ": cannot open");
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::int64_t>(f.tellg());
  if (size < 0) throw IoError(path + ": cannot read");
  if (size > max_bytes) throw IoError(path + ": larger than " + std::to_string(max_bytes >> 20) + " MiB, refusing");
  f.seekg(0);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  f.read(bytes.data(), size);
  if (!f) throw IoError(path + ": read error");
  if (bytes.empty()) throw IoError(path + ": empty file");
  return bytes;
}

Csr parse_smtx(const std::string& text, const std::string& name, std::uint64_t value_seed) {
  constexpr std::int64_t kMax32 = std::numeric_limits<std::int32_t>::max() - 1;
  Reader r{text, name};
  const std::int64_t rows = r.number("row count", kMax32);
  const std::int64_t cols = r.number("column count", kMax32);
  const std::int64_t nnz = r.number("nnz", kMax32);
  if (!r.at_line_end()) fail(name, "line 1: header must be exactly 'rows, cols, nnz'");
  if (nnz > rows * cols) fail(name, "nnz " + std::to_string(nnz) + " exceeds rows x cols");
  // Each number takes at least one digit and one separator: a file too short for the header's sizes is
  // truncated (or lies), and is refused before allocating.
  const std::int64_t need = (rows + 1) + nnz;
  if (static_cast<std::int64_t>(text.size() - r.pos) < need)
    fail(name, "truncated: header promises " + std::to_string(rows + 1) + " offsets and " + std::to_string(nnz) +
                   " indices, the file is too short to hold them");

  Csr a;
  a.rows = rows, a.cols = cols;
  a.rowptr.resize(static_cast<std::size_t>(rows + 1));
  for (std::int64_t i = 0; i <= rows; ++i) {
    const std::int64_t v = r.number("a row offset", nnz);
    if (i == 0 && v != 0) fail(name, "first row offset is " + std::to_string(v) + ", expected 0");
    if (i > 0 && v < a.rowptr[i - 1])
      fail(name, "row offsets not monotone at row " + std::to_string(i) + " (" + std::to_string(a.rowptr[i - 1]) +
                     " then " + std::to_string(v) + ")");
    a.rowptr[i] = static_cast<std::int32_t>(v);
  }
  if (a.rowptr[rows] != nnz)
    fail(name, "last row offset is " + std::to_string(a.rowptr[rows]) + ", header says nnz " + std::to_string(nnz));
  a.colidx.resize(static_cast<std::size_t>(nnz));
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int32_t p = a.rowptr[i]; p < a.rowptr[i + 1]; ++p) {
      const std::int64_t c = r.number("a column index", std::numeric_limits<std::int32_t>::max());
      if (c >= cols)
        fail(name, "column index " + std::to_string(c) + " out of range [0, " + std::to_string(cols) + ") in row " +
                       std::to_string(i));
      if (p > a.rowptr[i] && c <= a.colidx[p - 1])
        fail(name, "column indices of row " + std::to_string(i) + " not strictly increasing (duplicate or unsorted)");
      a.colidx[p] = static_cast<std::int32_t>(c);
    }
  }
  r.skip_seps(true);
  if (r.pos != text.size()) fail(name, "line " + std::to_string(r.line) + ": unexpected data after " +
                                           std::to_string(nnz) + " column indices");
  a.values.resize(static_cast<std::size_t>(nnz));
  fill_random(a.values, value_seed);
  return a;
}

Csr load_smtx(const std::string& path, std::uint64_t value_seed) {
  return parse_smtx(read_file(path, std::int64_t{4} << 30), path, value_seed);
}

}  // namespace pb::io
