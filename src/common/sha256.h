// src/common/sha256.h - SHA-256 of files (bundle integrity checks, `cosyvoice info --verify`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cosyvoice {

class Sha256 {
 public:
  Sha256();
  void Update(const void *data, size_t size);
  std::string HexDigest();  // finalizes; lower-case hex

 private:
  void Block(const uint8_t *p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

std::string Sha256File(const std::filesystem::path &path);

}  // namespace cosyvoice
