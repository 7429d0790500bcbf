// src/common/crc32c.h - CRC-32C (Castagnoli, RFC 3720 §B.4) of files: the load-time check of the
// graphs `cosyvoice optimize` wrote on this machine (docs/bundle.md §8).
//
// Why not sha256 there too: the full-size float32 optimized graphs are 5.5 GB (each pre-packed weight
// stored beside its original), and sha256 - even with the SHA extensions, ~1 GB/s per core - made
// their checksums the larger half of every load. CRC-32C runs on the SSE4.2 crc32 instruction at
// memory speed. It finds what the check is for - a damaged, truncated or half-rewritten local file
// (every burst of up to 32 bits, any other damage but with probability 2^-32) - not deliberate
// replacement, which a local directory written by the user's own machine does not need; the bundle's
// own files, which travel, keep sha256 (config.json).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cosyvoice {

class Crc32c {
 public:
  // Uses the SSE4.2 instruction when the CPU has it (every x86-64 CPU since 2008) unless
  // `allow_hardware` is false; else a table-driven form. Both give the same values.
  explicit Crc32c(bool allow_hardware = true);
  static bool HardwareAvailable();
  void Update(const void *data, size_t size);
  uint32_t value() const { return ~state_; }
  std::string HexValue() const;  // 8 lower-case hex digits

 private:
  bool use_hardware_ = false;
  uint32_t state_ = 0xFFFFFFFFu;
};

// The CRC-32C of a whole file as 8 hex digits; throws Error(kIo) when it cannot be read.
std::string Crc32cFile(const std::filesystem::path &path);

}  // namespace cosyvoice
