// src/text/byte_level.cc
#include "text/byte_level.h"

#include <array>

#include "text/utf8_codec.h"

namespace cosyvoice {
namespace {

constexpr bool IsPrintable(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 0x144> to_byte{};  // the alphabet ends at U+0143
  Tables() {
    to_byte.fill(-1);
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      to_char[b] = IsPrintable(b) ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables &GetTables() {
  static const Tables tables;
  return tables;
}

}  // namespace

char32_t ByteToChar(uint8_t b) {
  return GetTables().to_char[b];
}

int CharToByte(char32_t c) {
  const Tables &t = GetTables();
  return c < t.to_byte.size() ? t.to_byte[c] : -1;
}

std::string BytesToVocabString(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) AppendUtf8(ByteToChar(static_cast<uint8_t>(b)), &out);
  return out;
}

bool VocabStringToBytes(std::string_view token, std::string *bytes) {
  bytes->clear();
  size_t i = 0;
  while (i < token.size()) {
    size_t len = 0;
    const int b = CharToByte(DecodeUtf8At(token, i, &len));
    if (b < 0) return false;
    bytes->push_back(static_cast<char>(b));
    i += len;
  }
  return true;
}

}  // namespace cosyvoice
