// src/text/pretokenizer.cc
//
// The regex alternatives, in order, and how each is decided at position i (c = text[i]):
//   1 (?i:'s|'t|'re|'ve|'m|'ll|'d)  c is an apostrophe followed by one of the suffixes, any case.
//   2 [^\r\n\p{L}\p{N}]?\p{L}+       a run of letters, optionally led by one char that is neither a
//                                    newline, a letter nor a number (a space, punctuation, an emoji...).
//   3 \p{N}                          one number character: digits never group.
//   4  ?[^\s\p{L}\p{N}]+[\r\n]*      a run of "other" chars, optionally led by one ASCII space, with the
//                                    newlines that follow it.
//   5 \s*[\r\n]+                     whitespace up to and including its last \r or \n (backtracking of
//                                    \s* makes it stop right after the last newline of the run).
//   6 \s+(?!\S)                      a whitespace run at the end of the text, or the run minus its last
//                                    char (which then leads the next word through alternative 2 or 4).
//   7 \s+                            a single whitespace char before a non-space.
#include "text/pretokenizer.h"

#include <array>
#include <cstdint>

#include "text/unicode.h"
#include "text/utf8_codec.h"

namespace cosyvoice {
namespace {

enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4, kNewline = 8 };

struct Char {
  char32_t cp;
  size_t len;
  uint8_t cls;
};

std::array<uint8_t, 128> MakeAsciiClasses() {
  std::array<uint8_t, 128> t{};
  for (char32_t c = 0; c < 128; ++c) {
    t[c] = static_cast<uint8_t>((IsLetter(c) ? kLetter : 0) | (IsNumber(c) ? kNumber : 0) |
                                (IsWhiteSpace(c) ? kSpace : 0) | (c == '\r' || c == '\n' ? kNewline : 0));
  }
  return t;
}

uint8_t Classify(char32_t c) {
  static const std::array<uint8_t, 128> ascii = MakeAsciiClasses();
  if (c < 128) return ascii[c];
  return static_cast<uint8_t>((IsLetter(c) ? kLetter : 0) | (IsNumber(c) ? kNumber : 0) |
                              (IsWhiteSpace(c) ? kSpace : 0));
}

// "Other" in the regex: [^\s\p{L}\p{N}].
bool IsOther(uint8_t cls) {
  return (cls & (kLetter | kNumber | kSpace)) == 0;
}

// Simple case folding restricted to what the contraction suffixes can match: the only non-ASCII
// character whose folding is one of s, t, r, e, v, m, l, d is U+017F LATIN SMALL LETTER LONG S.
char32_t FoldForContraction(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A' + 'a';
  if (c == 0x017F) return 's';
  return c;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}

  Char At(size_t i) const {
    size_t len = 0;
    const char32_t cp = DecodeUtf8At(s_, i, &len);
    return {cp, len, Classify(cp)};
  }

  // End of the run of characters whose class satisfies `pred`, starting at byte i.
  template <typename Pred>
  size_t SkipWhile(size_t i, Pred pred) const {
    while (i < s_.size()) {
      const Char c = At(i);
      if (!pred(c.cls)) break;
      i += c.len;
    }
    return i;
  }

  // End (exclusive) of the piece that starts at byte i < size.
  size_t MatchAt(size_t i) const {
    const size_t n = s_.size();
    const Char c = At(i);
    const size_t j = i + c.len;
    auto letter = [](uint8_t k) { return (k & kLetter) != 0; };

    // 1: contractions.
    if (c.cp == '\'' && j < n) {
      const Char c1 = At(j);
      const char32_t f1 = FoldForContraction(c1.cp);
      if (f1 == 's' || f1 == 't' || f1 == 'm' || f1 == 'd') return j + c1.len;
      const size_t k = j + c1.len;
      if (k < n && (f1 == 'r' || f1 == 'v' || f1 == 'l')) {
        const Char c2 = At(k);
        const char32_t f2 = FoldForContraction(c2.cp);
        if (f2 == (f1 == 'l' ? 'l' : 'e')) return k + c2.len;
      }
    }
    // 2: letters, optionally led by one non-newline, non-letter, non-number char.
    if (c.cls & kLetter) return SkipWhile(j, letter);
    if (!(c.cls & (kNewline | kNumber)) && j < n) {
      const Char c1 = At(j);
      if (c1.cls & kLetter) return SkipWhile(j + c1.len, letter);
    }
    // 3: one number.
    if (c.cls & kNumber) return j;
    // 4: " ?" + run of others + trailing newlines.
    auto other_then_newlines = [&](size_t from) {
      const size_t end = SkipWhile(from, IsOther);
      return SkipWhile(end, [](uint8_t k) { return (k & kNewline) != 0; });
    };
    if (IsOther(c.cls)) return other_then_newlines(j);
    if (c.cp == ' ' && j < n && IsOther(At(j).cls)) return other_then_newlines(j + At(j).len);
    // 5-7: c is whitespace. Find the run, its last char and the end of its last newline.
    size_t run_end = j, last_start = i, newline_end = (c.cls & kNewline) ? j : 0;
    int count = 1;
    while (run_end < n) {
      const Char d = At(run_end);
      if (!(d.cls & kSpace)) break;
      last_start = run_end;
      run_end += d.len;
      if (d.cls & kNewline) newline_end = run_end;
      ++count;
    }
    if (newline_end != 0) return newline_end;  // 5
    if (run_end == n) return n;                // 6 at the end of the text
    if (count >= 2) return last_start;         // 6: give the last space to the next piece
    return run_end;                            // 7
  }

 private:
  std::string_view s_;
};

}  // namespace

void PreTokenizeQwen2(std::string_view text, std::vector<std::string_view> *pieces) {
  const Scanner scanner(text);
  size_t i = 0;
  while (i < text.size()) {
    const size_t end = scanner.MatchAt(i);
    pieces->push_back(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace cosyvoice
