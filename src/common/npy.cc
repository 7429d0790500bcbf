// src/common/npy.cc
#include "common/npy.h"

#include <cstring>
#include <fstream>
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

[[noreturn]] void Fail(const std::filesystem::path &path, const std::string &what) {
  throw Error(ErrorCode::kIo, path.string() + ": not a readable .npy file: " + what);
}

// Value of 'key' in the header dict, as the raw text up to the next top-level ',' or '}'.
std::string HeaderField(const std::string &header, const std::string &key,
                        const std::filesystem::path &path) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) Fail(path, "header has no '" + key + "'");
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) Fail(path, "malformed header");
  size_t begin = colon + 1;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  size_t end = begin;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (header[begin] == '(') end = header.find(')', begin) + 1;
  return header.substr(begin, end - begin);
}

DType ParseDescr(std::string descr, const std::filesystem::path &path) {
  if (descr.size() < 3 || (descr.front() != '\'' && descr.front() != '"')) Fail(path, "bad descr " + descr);
  descr = descr.substr(1, descr.size() - 2);
  if (descr.size() == 3 && descr[0] == '>' && descr[2] != '1')
    Fail(path, "big-endian data (" + descr + ") is not supported");
  for (const auto &d : kDTypes) {
    if (descr.substr(1) == std::string(d.descr).substr(1)) return d.dtype;
  }
  Fail(path, "unsupported dtype " + descr);
}

std::vector<int64_t> ParseShape(const std::string &text, const std::filesystem::path &path) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') Fail(path, "bad shape " + text);
  std::vector<int64_t> shape;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream ss(inner);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;  // trailing comma of 1-tuples
    try {
      long long v = std::stoll(item.substr(b));
      if (v < 0) Fail(path, "negative dimension");
      shape.push_back(v);
    } catch (const std::logic_error &) {
      Fail(path, "bad shape " + text);
    }
  }
  return shape;
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

NpyArray NpyArray::Load(const std::filesystem::path &path, bool memory_map) {
  auto file = std::make_shared<MappedFile>(path);
  const unsigned char *p = file->data();
  const size_t size = file->size();
  if (size < kMagicLen + 4 || std::memcmp(p, kMagic, kMagicLen) != 0) Fail(path, "bad magic");
  const int major = p[6];
  size_t header_len = 0;
  size_t offset = 0;
  if (major == 1) {
    header_len = p[8] | (static_cast<size_t>(p[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) Fail(path, "truncated header");
    header_len = p[8] | (static_cast<size_t>(p[9]) << 8) | (static_cast<size_t>(p[10]) << 16) |
                 (static_cast<size_t>(p[11]) << 24);
    offset = 12;
  } else {
    Fail(path, "unsupported format version " + std::to_string(major));
  }
  if (offset + header_len > size) Fail(path, "truncated header");
  const std::string header(reinterpret_cast<const char *>(p + offset), header_len);
  if (HeaderField(header, "fortran_order", path) != "False") Fail(path, "Fortran order is not supported");

  NpyArray a;
  a.dtype_ = ParseDescr(HeaderField(header, "descr", path), path);
  a.shape_ = ParseShape(HeaderField(header, "shape", path), path);
  const size_t data_offset = offset + header_len;
  if (size - data_offset != a.num_bytes()) {
    Fail(path, "expected " + std::to_string(a.num_bytes()) + " data bytes for shape " + a.ShapeString() +
                   " " + DTypeName(a.dtype_) + ", found " + std::to_string(size - data_offset) +
                   " (truncated or corrupt)");
  }
  if (memory_map) {
    a.mapped_ = std::move(file);
    a.data_ = a.mapped_->data() + data_offset;
  } else {
    a.owned_ = std::make_shared<std::vector<unsigned char>>(p + data_offset, p + size);
    a.data_ = a.owned_->data();
  }
  return a;
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
