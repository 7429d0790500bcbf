// src/common/mapped_file.h - read-only view of a whole file (memory-mapped where possible).
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

namespace cosyvoice {

// Large bundle tensors (the 545 MB text embedding table) are mapped, not read, so that loading
// is instant and pages are shared between processes. Falls back to reading into memory where
// mmap is unavailable.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path &path);
  ~MappedFile();
  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const unsigned char *data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Release() noexcept;
  const unsigned char *data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<unsigned char> buffer_;  // used when not mapped
};

}  // namespace cosyvoice
