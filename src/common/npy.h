// src/common/npy.h - NumPy .npy files: the bundle's tensor format and the goldens' format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "cosyvoice/error.h"

namespace cosyvoice {

enum class DType { kFloat32, kFloat64, kFloat16, kInt8, kUInt8, kInt32, kInt64, kBool };

size_t DTypeSize(DType dtype);
const char *DTypeName(DType dtype);  // numpy-style: "float32", "int64", ...
template <typename T>
DType DTypeOf();

// A little-endian, C-order .npy array (format versions 1.0-3.0). The data is either owned or a
// read-only memory map of the file (Load(..., memory_map=true)), which keeps 500 MB tables cheap.
class NpyArray {
 public:
  NpyArray() = default;
  NpyArray(DType dtype, std::vector<int64_t> shape);  // zero-filled, owned

  // Throws Error(kIo) naming the file for unreadable, truncated, Fortran-order or big-endian data.
  static NpyArray Load(const std::filesystem::path &path, bool memory_map = false);
  // The same from a whole file's bytes (copied); `name` is used in error messages.
  static NpyArray FromBytes(const void *data, size_t size, const std::string &name);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_.at(i); }
  size_t rank() const { return shape_.size(); }
  int64_t num_elements() const;
  size_t num_bytes() const { return static_cast<size_t>(num_elements()) * DTypeSize(dtype_); }
  std::string ShapeString() const;  // "[80, 15000]"

  const void *raw() const { return data_; }
  void *mutable_raw();  // throws if memory-mapped

  // Typed access; throws Error(kInvalidArgument) if T does not match dtype().
  template <typename T>
  const T *data() const;
  template <typename T>
  T *mutable_data();
  template <typename T>
  std::vector<T> ToVector() const {
    const T *p = data<T>();
    return std::vector<T>(p, p + num_elements());
  }

 private:
  void CheckType(DType want) const;
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;
  std::shared_ptr<std::vector<unsigned char>> owned_;
  std::shared_ptr<MappedFile> mapped_;
  const unsigned char *data_ = nullptr;
};

// What a .npy header says, checked against the file size (ParseNpyHeader throws Error(kIo) naming
// `name`; the element count is computed without overflow).
struct NpyHeader {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};
NpyHeader ParseNpyHeader(const unsigned char *data, size_t size, const std::string &name);

// Index of the first NaN or infinity of a float16/32/64 array, or kAllFinite (integer arrays: always).
constexpr size_t kAllFinite = static_cast<size_t>(-1);
size_t FindNonFinite(const NpyArray &array);
// Throws Error(code, "<name>: element N of [shape] dtype is not a finite number ...") unless every
// value is finite: a table or noise file full of NaN has the right size and passes every shape check.
void CheckAllFinite(const NpyArray &array, const std::string &name, ErrorCode code);

// Writes a C-order little-endian .npy (format 1.0). Throws Error(kIo) on failure.
void SaveNpy(const std::filesystem::path &path, DType dtype, const std::vector<int64_t> &shape,
             const void *data);
template <typename T>
void SaveNpy(const std::filesystem::path &path, const std::vector<int64_t> &shape, const T *data) {
  SaveNpy(path, DTypeOf<T>(), shape, data);
}

template <typename T>
const T *NpyArray::data() const {
  CheckType(DTypeOf<T>());
  return reinterpret_cast<const T *>(data_);
}
template <typename T>
T *NpyArray::mutable_data() {
  CheckType(DTypeOf<T>());
  return reinterpret_cast<T *>(mutable_raw());
}

}  // namespace cosyvoice
