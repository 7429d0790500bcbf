// src/text/utf8.h - UTF-8 <-> code points and the Unicode character classes the text frontend needs
// (ICU properties, so that no hand-written tables drift from Unicode).
#pragma once

#include <string>
#include <string_view>

namespace cosyvoice::text {

// Decodes UTF-8; an invalid byte becomes U+FFFD (the frontend never rejects text for encoding).
std::u32string ToU32(std::string_view utf8);
std::string ToUtf8(std::u32string_view text);
void AppendUtf8(std::string &out, char32_t c);

bool IsAsciiDigit(char32_t c);
bool IsAsciiLetter(char32_t c);
bool IsLetter(char32_t c);         // \p{L}
bool IsWhiteSpace(char32_t c);     // Python's str.isspace() agrees for the characters that matter here
bool IsPunctOrSymbol(char32_t c);  // \p{P} or \p{S}
bool IsCjkIdeograph(char32_t c);   // U+4E00-U+9FFF, the official contains_chinese range
bool IsUpper(char32_t c);

}  // namespace cosyvoice::text
