// src/text/unicode.h - the Unicode facts the tokenizer needs, answered by ICU (no hand-written tables).
#pragma once

#include <string>
#include <string_view>

namespace cosyvoice {

// NFC of well-formed UTF-8 (ICU). Text that is already NFC (e.g. all ASCII) is returned unchanged
// without a second pass.
std::string NfcNormalize(std::string_view utf8);

// Whether well-formed UTF-8 `utf8` is already NFC (true at once for ASCII).
bool IsNfc(std::string_view utf8);

// Regex classes as Oniguruma and Rust's regex crate define them for Unicode text.
bool IsLetter(char32_t c);      // \p{L}: general category Lu, Ll, Lt, Lm, Lo
bool IsNumber(char32_t c);      // \p{N}: Nd, Nl, No
bool IsWhiteSpace(char32_t c);  // \s: the White_Space property
bool IsWordChar(char32_t c);    // Rust regex \w: Alphabetic, Mark, Nd, Pc, Join_Control

}  // namespace cosyvoice
