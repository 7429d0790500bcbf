// src/common/sha256.h - SHA-256 of files (bundle integrity checks, `cosyvoice info --verify`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cosyvoice {

// Uses the x86 SHA extensions when the CPU has them (most x86-64 CPUs since 2017), else portable
// code; both give the same digests (tests/unit/test_bundle_config.cc).
class Sha256 {
 public:
  explicit Sha256(bool allow_hardware = true);
  static bool HardwareAvailable();
  void Update(const void *data, size_t size);
  std::string HexDigest();  // finalizes; lower-case hex

 private:
  void Block(const uint8_t *p);
  void Blocks(const uint8_t *p, size_t blocks);
  bool use_hardware_ = false;
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

std::string Sha256File(const std::filesystem::path &path);

}  // namespace cosyvoice
