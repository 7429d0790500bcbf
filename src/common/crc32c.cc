// src/common/crc32c.cc
#include "common/crc32c.h"

#include <array>
#include <cstdio>
#include <cstring>

#include "common/file_chunks.h"

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define COSY_CRC32C_X86 1
#endif

namespace cosyvoice {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reflected

// tables[k][b]: the CRC of byte b followed by k zero bytes (slicing by 8).
using Tables = std::array<std::array<uint32_t, 256>, 8>;
const Tables &SoftwareTables() {
  static const Tables tables = [] {
    Tables t{};
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = b;
      for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPolynomial : 0u);
      t[0][b] = c;
    }
    for (size_t k = 1; k < 8; ++k)
      for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
    return t;
  }();
  return tables;
}

uint32_t UpdateSoftware(uint32_t crc, const uint8_t *p, size_t n) {
  const Tables &t = SoftwareTables();
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;  // little-endian byte order of the words (x86-64, aarch64)
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFFu];
  return crc;
}

#if defined(COSY_CRC32C_X86)
__attribute__((target("sse4.2"))) uint32_t UpdateHardware(uint32_t crc, const uint8_t *p, size_t n) {
#if defined(__x86_64__)
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(c);
#endif
  while (n-- > 0) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}
#endif

}  // namespace

bool Crc32c::HardwareAvailable() {
#if defined(COSY_CRC32C_X86)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

Crc32c::Crc32c(bool allow_hardware) : use_hardware_(allow_hardware && HardwareAvailable()) {}

void Crc32c::Update(const void *data, size_t size) {
  const auto *p = static_cast<const uint8_t *>(data);
#if defined(COSY_CRC32C_X86)
  if (use_hardware_) {
    state_ = UpdateHardware(state_, p, size);
    return;
  }
#endif
  state_ = UpdateSoftware(state_, p, size);
}

std::string Crc32cFile(const std::filesystem::path &path) {
  Crc32c crc;
  ReadFileInChunks(path, [&](const char *data, size_t size) { crc.Update(data, size); });
  return crc.HexValue();
}

std::string Crc32c::HexValue() const {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value());
  return text;
}

}  // namespace cosyvoice
