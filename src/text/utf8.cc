// src/text/utf8.cc
#include "text/utf8.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

namespace cosyvoice::text {

std::u32string ToU32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  const auto *s = reinterpret_cast<const uint8_t *>(utf8.data());
  const int32_t length = static_cast<int32_t>(utf8.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    out.push_back(c < 0 ? U'\uFFFD' : static_cast<char32_t>(c));
  }
  return out;
}

void AppendUtf8(std::string &out, char32_t c) {
  uint8_t buf[U8_MAX_LENGTH];
  int32_t n = 0;
  UBool error = false;
  U8_APPEND(buf, n, U8_MAX_LENGTH, static_cast<UChar32>(c), error);
  if (error) return;
  out.append(reinterpret_cast<const char *>(buf), static_cast<size_t>(n));
}

std::string ToUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) AppendUtf8(out, c);
  return out;
}

bool IsAsciiDigit(char32_t c) {
  return c >= U'0' && c <= U'9';
}
bool IsAsciiLetter(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}
bool IsLetter(char32_t c) {
  return u_isalpha(static_cast<UChar32>(c));
}
bool IsWhiteSpace(char32_t c) {
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}
bool IsUpper(char32_t c) {
  return u_isupper(static_cast<UChar32>(c));
}
bool IsCjkIdeograph(char32_t c) {
  return c >= 0x4E00 && c <= 0x9FFF;
}

bool IsPunctOrSymbol(char32_t c) {
  const uint32_t mask = U_GET_GC_MASK(static_cast<UChar32>(c));
  return (mask & (U_GC_P_MASK | U_GC_S_MASK)) != 0;
}

}  // namespace cosyvoice::text
