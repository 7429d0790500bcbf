// src/text/input_text.cc
#include "text/input_text.h"

#include "common/log.h"
#include "cosyvoice/error.h"
#include "text/utf8_codec.h"

namespace cosyvoice::text {
namespace {

constexpr unsigned char kEsc = 0x1B;
constexpr unsigned char kBel = 0x07;

bool IsKeptControl(unsigned char c) {
  return c == '\t' || c == '\n' || c == '\r';
}
bool BreaksLine(char32_t c) {
  return c == 0x0B || c == 0x0C || c == 0x85;
}

// ECMA-48 control sequence after its introducer (ESC [ or U+009B): parameter bytes 0x30-0x3F,
// intermediate bytes 0x20-0x2F, one final byte 0x40-0x7E. Returns the index after it (or after the
// bytes that belong to it when it is cut short).
size_t SkipCsi(std::string_view s, size_t i) {
  while (i < s.size() && s[i] >= 0x30 && s[i] <= 0x3F) ++i;
  while (i < s.size() && s[i] >= 0x20 && s[i] <= 0x2F) ++i;
  if (i < s.size() && s[i] >= 0x40 && s[i] <= 0x7E) ++i;
  return i;
}

// A control string (OSC, DCS, SOS, PM, APC) after its introducer, up to BEL or ST (ESC \ or U+009C).
// Unterminated: only the introducer is removed (a terminal would swallow the rest, but dropping the
// whole remaining text would lose more than it protects).
size_t SkipControlString(std::string_view s, size_t i, size_t introducer_end) {
  for (size_t k = i; k < s.size(); ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (c == kBel) return k + 1;
    if (c == kEsc && k + 1 < s.size() && s[k + 1] == '\\') return k + 2;
    if (c == 0xC2 && k + 1 < s.size() && static_cast<unsigned char>(s[k + 1]) == 0x9C) return k + 2;
  }
  return introducer_end;
}

// An escape sequence starting with ESC at s[i]; returns the index after it.
size_t SkipEscape(std::string_view s, size_t i) {
  size_t k = i + 1;
  if (k >= s.size()) return k;
  const auto c = static_cast<unsigned char>(s[k]);
  if (c == '[') return SkipCsi(s, k + 1);
  if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') return SkipControlString(s, k + 1, k + 1);
  while (k < s.size() && s[k] >= 0x20 && s[k] <= 0x2F) ++k;  // nF: intermediates, then a final byte
  if (k < s.size() && s[k] >= 0x30 && s[k] <= 0x7E) ++k;
  return k;
}

}  // namespace

CleanedText CleanInputText(std::string_view s, std::string_view what) {
  CheckUtf8(s, what);
  CleanedText out;
  out.text.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == kEsc) {
      i = SkipEscape(s, i);
      ++out.removed_sequences;
      continue;
    }
    size_t len = 1;
    const char32_t c = DecodeUtf8At(s, i, &len);
    const bool control =
        (c < 0x20 && !IsKeptControl(static_cast<unsigned char>(c))) || (c >= 0x7F && c <= 0x9F);
    if (!control) {
      out.text.append(s.substr(i, len));
      i += len;
      continue;
    }
    if (c == 0x9B) {  // C1 CSI
      i = SkipCsi(s, i + len);
      ++out.removed_sequences;
      continue;
    }
    if (c == 0x9D || c == 0x90 || c == 0x98 || c == 0x9E || c == 0x9F) {  // C1 OSC, DCS, SOS, PM, APC
      i = SkipControlString(s, i + len, i + len);
      ++out.removed_sequences;
      continue;
    }
    if (BreaksLine(c)) out.text.push_back(' ');
    ++out.removed_controls;
    i += len;
  }
  return out;
}

std::string PrepareInputText(std::string_view text, std::string_view what) {
  CleanedText clean = CleanInputText(text, what);
  if (clean.removed() > 0) {
    COSY_LOG(kWarning) << what << ": removed " << clean.removed_controls << " control character(s) and "
                       << clean.removed_sequences << " terminal escape sequence(s)";
  }
  return std::move(clean.text);
}

void CheckTextLength(std::string_view text, std::string_view what, size_t max_bytes) {
  if (text.size() <= max_bytes) return;
  throw Error(ErrorCode::kInvalidArgument, std::string(what) + " too long: " + std::to_string(text.size()) +
                                               " bytes, at most " + std::to_string(max_bytes) + " accepted");
}

}  // namespace cosyvoice::text
