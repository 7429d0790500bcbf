// src/text/text_pieces.cc
#include "text/text_pieces.h"

namespace cosyvoice::text {
namespace {

bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A 3-byte UTF-8 sequence E3 80 80..E3 80 BF is U+3000-U+303F (CJK symbols and punctuation:
// "、。「」" ...); EF BC 81..EF BC 8F is U+FF01-U+FF0F ("！，" ...), EF BC 9A..EF BC 9F U+FF1A-U+FF1F
// ("：；？" ...).
bool IsCjkPunctuation(std::string_view s, size_t i) {
  if (i + 3 > s.size()) return false;
  const auto b0 = static_cast<unsigned char>(s[i]), b1 = static_cast<unsigned char>(s[i + 1]),
             b2 = static_cast<unsigned char>(s[i + 2]);
  if (b0 == 0xE3 && b1 == 0x80 && b2 >= 0x80 && b2 <= 0xBF) return true;
  if (b0 == 0xEF && b1 == 0xBC && ((b2 >= 0x81 && b2 <= 0x8F) || (b2 >= 0x9A && b2 <= 0x9F))) return true;
  return false;
}

}  // namespace

std::string TextPieceBuffer::TakeReady() {
  size_t cut = 0;  // bytes of the ready prefix
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (IsAsciiSpace(static_cast<unsigned char>(pending_[i]))) {
      cut = i + 1;
    } else if (IsCjkPunctuation(pending_, i)) {
      cut = i + 3;
      i += 2;
    }
  }
  std::string ready = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return ready;
}

std::string TextPieceBuffer::TakeRest() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace cosyvoice::text
