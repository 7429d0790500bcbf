// src/common/npy.cc
#include "common/npy.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/atomic_file.h"
#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct DTypeInfo {
  DType dtype;
  const char *descr;  // as written; on read "<" and "=" and "|" are accepted for little-endian
  const char *name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::kFloat32, "<f4", "float32", 4}, {DType::kFloat64, "<f8", "float64", 8},
    {DType::kFloat16, "<f2", "float16", 2}, {DType::kInt8, "|i1", "int8", 1},
    {DType::kUInt8, "|u1", "uint8", 1},     {DType::kInt32, "<i4", "int32", 4},
    {DType::kInt64, "<i8", "int64", 8},     {DType::kBool, "|b1", "bool", 1},
};

const DTypeInfo &Info(DType dtype) {
  for (const auto &d : kDTypes)
    if (d.dtype == dtype) return d;
  throw Error(ErrorCode::kInvalidArgument, "unknown dtype");
}

[[noreturn]] void Fail(const std::string &name, const std::string &what) {
  throw Error(ErrorCode::kIo, name + ": not a readable .npy file: " + what);
}

// Value of 'key' in the header dict, as the raw text up to the next top-level ',' or '}' (a tuple
// value is taken whole, parentheses included).
std::string HeaderField(const std::string &header, const std::string &key, const std::string &name) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) Fail(name, "header has no '" + key + "'");
  const size_t colon = header.find(':', k);
  if (colon == std::string::npos) Fail(name, "malformed header");
  size_t begin = colon + 1;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  if (begin >= header.size()) Fail(name, "malformed header");
  if (header[begin] == '(') {
    const size_t close = header.find(')', begin);
    if (close == std::string::npos) Fail(name, "malformed header: unclosed shape tuple");
    return header.substr(begin, close + 1 - begin);
  }
  size_t end = begin;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(begin, end - begin);
}

DType ParseDescr(std::string descr, const std::string &name) {
  if (descr.size() < 3 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front())
    Fail(name, "bad descr " + descr);
  descr = descr.substr(1, descr.size() - 2);
  if (descr.size() == 3 && descr[0] == '>' && descr[2] != '1')
    Fail(name, "big-endian data (" + descr + ") is not supported");
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '|' || descr[0] == '=' || descr[0] == '>')) {
    for (const auto &d : kDTypes) {
      if (descr.substr(1) == std::string(d.descr).substr(1)) return d.dtype;
    }
  }
  Fail(name, "unsupported dtype " + descr);
}

// "(80, 15000)", "(3,)", "()": non-negative decimal dimensions, at most 32 of them.
std::vector<int64_t> ParseShape(const std::string &text, const std::string &name) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') Fail(name, "bad shape " + text);
  std::vector<int64_t> shape;
  std::stringstream ss(text.substr(1, text.size() - 2));
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;  // trailing comma of 1-tuples
    const size_t e = item.find_last_not_of(' ');
    const std::string digits = item.substr(b, e + 1 - b);
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos)
      Fail(name, "bad shape " + text);
    shape.push_back(std::stoll(digits));
    if (shape.size() > 32) Fail(name, "more than 32 dimensions");
  }
  return shape;
}

// Element count of `shape`, or -1 when it exceeds `limit` (no overflow on the way).
int64_t CountWithin(const std::vector<int64_t> &shape, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d == 0) return 0;
    if (n > limit / d) return -1;
    n *= d;
  }
  return n;
}

}  // namespace

size_t DTypeSize(DType dtype) {
  return Info(dtype).size;
}
const char *DTypeName(DType dtype) {
  return Info(dtype).name;
}

template <>
DType DTypeOf<float>() {
  return DType::kFloat32;
}
template <>
DType DTypeOf<double>() {
  return DType::kFloat64;
}
template <>
DType DTypeOf<int8_t>() {
  return DType::kInt8;
}
template <>
DType DTypeOf<uint8_t>() {
  return DType::kUInt8;
}
template <>
DType DTypeOf<int32_t>() {
  return DType::kInt32;
}
template <>
DType DTypeOf<int64_t>() {
  return DType::kInt64;
}
template <>
DType DTypeOf<bool>() {
  return DType::kBool;
}

NpyArray::NpyArray(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  owned_ = std::make_shared<std::vector<unsigned char>>(num_bytes(), 0);
  data_ = owned_->data();
}

int64_t NpyArray::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::string NpyArray::ShapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < shape_.size(); ++i) s += (i ? ", " : "") + std::to_string(shape_[i]);
  return s + "]";
}

void *NpyArray::mutable_raw() {
  if (!owned_) throw Error(ErrorCode::kInvalidArgument, "npy array is read-only (memory-mapped)");
  return owned_->data();
}

void NpyArray::CheckType(DType want) const {
  if (want != dtype_) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("npy array holds ") + DTypeName(dtype_) + ", accessed as " + DTypeName(want));
  }
}

NpyHeader ParseNpyHeader(const unsigned char *p, size_t size, const std::string &name) {
  if (size < kMagicLen + 4 || std::memcmp(p, kMagic, kMagicLen) != 0) Fail(name, "bad magic");
  const int major = p[6];
  size_t header_len = 0;
  size_t offset = 0;
  if (major == 1) {
    header_len = p[8] | (static_cast<size_t>(p[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) Fail(name, "truncated header");
    header_len = p[8] | (static_cast<size_t>(p[9]) << 8) | (static_cast<size_t>(p[10]) << 16) |
                 (static_cast<size_t>(p[11]) << 24);
    offset = 12;
  } else {
    Fail(name, "unsupported format version " + std::to_string(major));
  }
  if (header_len > size - offset) Fail(name, "truncated header");
  const std::string header(reinterpret_cast<const char *>(p + offset), header_len);
  if (HeaderField(header, "fortran_order", name) != "False") Fail(name, "Fortran order is not supported");

  NpyHeader h;
  h.dtype = ParseDescr(HeaderField(header, "descr", name), name);
  h.shape = ParseShape(HeaderField(header, "shape", name), name);
  h.data_offset = offset + header_len;
  const size_t available = size - h.data_offset;
  const int64_t count = CountWithin(h.shape, std::numeric_limits<int64_t>::max() / 8);
  std::string shape_text = "[";
  for (size_t i = 0; i < h.shape.size(); ++i) shape_text += (i ? ", " : "") + std::to_string(h.shape[i]);
  shape_text += "]";
  if (count < 0) Fail(name, "shape " + shape_text + " has more elements than any file can hold");
  const size_t expected = static_cast<size_t>(count) * DTypeSize(h.dtype);
  if (expected != available) {
    Fail(name, "expected " + std::to_string(expected) + " data bytes for shape " + shape_text + " " +
                   DTypeName(h.dtype) + ", found " + std::to_string(available) + " (truncated or corrupt)");
  }
  return h;
}

NpyArray NpyArray::FromBytes(const void *data, size_t size, const std::string &name) {
  const auto *p = static_cast<const unsigned char *>(data);
  const NpyHeader h = ParseNpyHeader(p, size, name);
  NpyArray a;
  a.dtype_ = h.dtype;
  a.shape_ = h.shape;
  a.owned_ = std::make_shared<std::vector<unsigned char>>(p + h.data_offset, p + size);
  a.data_ = a.owned_->data();
  return a;
}

NpyArray NpyArray::Load(const std::filesystem::path &path, bool memory_map) {
  auto file = std::make_shared<MappedFile>(path);
  if (!memory_map) return FromBytes(file->data(), file->size(), path.string());
  const NpyHeader h = ParseNpyHeader(file->data(), file->size(), path.string());
  NpyArray a;
  a.dtype_ = h.dtype;
  a.shape_ = h.shape;
  a.mapped_ = std::move(file);
  a.data_ = a.mapped_->data() + h.data_offset;
  return a;
}

size_t FindNonFinite(const NpyArray &a) {
  const int64_t n = a.num_elements();
  switch (a.dtype()) {
    case DType::kFloat32: {
      const float *v = a.data<float>();
      for (int64_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i])) return static_cast<size_t>(i);
      return kAllFinite;
    }
    case DType::kFloat64: {
      const double *v = a.data<double>();
      for (int64_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i])) return static_cast<size_t>(i);
      return kAllFinite;
    }
    case DType::kFloat16: {
      const auto *v = static_cast<const uint16_t *>(a.raw());
      for (int64_t i = 0; i < n; ++i)
        if ((v[i] & 0x7C00) == 0x7C00) return static_cast<size_t>(i);  // exponent all ones: Inf or NaN
      return kAllFinite;
    }
    default: return kAllFinite;  // integers and bools are always finite
  }
}

void CheckAllFinite(const NpyArray &a, const std::string &name, ErrorCode code) {
  const size_t bad = FindNonFinite(a);
  if (bad == kAllFinite) return;
  throw Error(code, name + ": element " + std::to_string(bad) + " of " + a.ShapeString() + " " +
                        DTypeName(a.dtype()) +
                        " is not a finite number (NaN or infinity): the file is damaged");
}

void SaveNpy(const std::filesystem::path &path, DType dtype, const std::vector<int64_t> &shape,
             const void *data) {
  std::string header =
      std::string("{'descr': '") + Info(dtype).descr + "', 'fortran_order': False, 'shape': (";
  size_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    header += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    count *= static_cast<size_t>(shape[i]);
  }
  header += "), }";
  // Pad with spaces so that magic + len + header + '\n' is a multiple of 64 bytes.
  const size_t unpadded = kMagicLen + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  AtomicFile out(path.string());  // a failure leaves a previous file at `path` as it was
  const unsigned char version[2] = {1, 0};
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                static_cast<unsigned char>(header.size() >> 8)};
  out.Write(kMagic, kMagicLen);
  out.Write(version, 2);
  out.Write(len, 2);
  out.Write(header.data(), header.size());
  out.Write(data, count * DTypeSize(dtype));
  out.Commit();
}

}  // namespace cosyvoice
