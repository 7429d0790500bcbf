// src/text/byte_level.h - GPT-2's reversible byte <-> printable character mapping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cosyvoice {

// The character byte `b` is written as in a byte-level BPE vocabulary: printable Latin-1 bytes
// ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for themselves, the other 68 bytes take U+0100.. in
// byte order (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
char32_t ByteToChar(uint8_t b);

// The byte a character of that alphabet stands for, or -1 for characters outside it.
int CharToByte(char32_t c);

// Every byte of `bytes` mapped to its character, as UTF-8.
std::string BytesToVocabString(std::string_view bytes);

// The inverse of BytesToVocabString. Returns false (and leaves `*bytes` unspecified) when `token` has a
// character outside the alphabet, as added tokens such as "[ǜ]" do.
bool VocabStringToBytes(std::string_view token, std::string *bytes);

}  // namespace cosyvoice
