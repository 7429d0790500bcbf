// src/text/utf8_codec.h - UTF-8 validation, lossy decoding and code point iteration.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cosyvoice {

// Byte offset of the first ill-formed UTF-8 sequence in `s`, or std::string_view::npos when the
// whole string is well-formed (Unicode table 3-7: no overlongs, surrogates or code points > U+10FFFF).
size_t FindInvalidUtf8(std::string_view s);

// Throws Error(kInvalidArgument, "<what>: invalid UTF-8 at byte offset N (0xNN)") unless `s` is
// well-formed UTF-8.
void CheckUtf8(std::string_view s, std::string_view what);

// `bytes` as UTF-8 with each maximal ill-formed subpart replaced by U+FFFD, exactly like Rust's
// String::from_utf8_lossy (which Hugging Face's byte-level decoder ends with).
std::string Utf8Lossy(std::string_view bytes);

// Appends the UTF-8 encoding of code point `c` (must be a scalar value).
void AppendUtf8(char32_t c, std::string *out);

// Decodes the code point starting at `s[i]` of well-formed UTF-8 and sets `*len` to its byte length.
inline char32_t DecodeUtf8At(std::string_view s, size_t i, size_t *len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *len = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
  }
  if (b0 < 0xF0) {
    *len = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  *len = 4;
  return (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

}  // namespace cosyvoice
