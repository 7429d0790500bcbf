// src/text/frontend_utils.cc
#include "text/frontend_utils.h"

#include <unicode/uchar.h>

#include "text/normalizer/en_verbalizer.h"
#include "text/utf8.h"

namespace cosyvoice::text {

namespace {

bool IsPythonSpace(char32_t c) {
  return (c >= 0x1C && c <= 0x1F) || IsWhiteSpace(c);
}

std::string ReplaceAll(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  for (size_t hit; (hit = text.find(from, start)) != std::string_view::npos; start = hit + from.size()) {
    out.append(text.substr(start, hit - start));
    out.append(to);
  }
  out.append(text.substr(start));
  return out;
}

}  // namespace

bool ContainsChinese(std::string_view text) {
  for (char32_t c : ToU32(text))
    if (IsCjkIdeograph(c)) return true;
  return false;
}

std::string ReplaceBlank(std::string_view text) {
  const std::u32string s = ToU32(text);
  std::u32string out;
  auto ascii_non_space = [](char32_t c) { return c < 128 && c != U' '; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != U' ') {
      out.push_back(s[i]);
      continue;
    }
    const char32_t prev = i == 0 ? s.back() : s[i - 1];  // Python's text[-1]
    if (i + 1 < s.size() && ascii_non_space(s[i + 1]) && ascii_non_space(prev)) out.push_back(U' ');
  }
  return ToUtf8(out);
}

std::string ReplaceCornerMark(std::string_view text) {
  return ReplaceAll(ReplaceAll(text, "²", "平方"), "³", "立方");
}

std::string RemoveBracket(std::string_view text) {
  std::string out(text);
  for (std::string_view drop : {"（", "）", "【", "】", "`"}) out = ReplaceAll(out, drop, "");
  return ReplaceAll(out, "——", " ");
}

std::string SpellOutNumber(std::string_view text) {
  const std::u32string s = ToU32(text);
  std::string out;
  std::string digits;
  auto flush = [&] {
    if (digits.empty()) return;
    out += tn::en::InflectNumberToWords(digits);
    digits.clear();
  };
  for (char32_t c : s) {
    if (u_isdigit(static_cast<UChar32>(c))) {
      digits.push_back(static_cast<char>('0' + u_charDigitValue(static_cast<UChar32>(c))));
      continue;
    }
    flush();
    AppendUtf8(out, c);
  }
  flush();
  return out;
}

bool IsOnlyPunctuation(std::string_view text) {
  for (char32_t c : ToU32(text))
    if (!IsPunctOrSymbol(c)) return false;
  return true;
}

std::string_view StripWhitespace(std::string_view text) {
  const std::u32string s = ToU32(text);
  size_t begin = 0, end = s.size();
  while (begin < end && IsPythonSpace(s[begin])) ++begin;
  while (end > begin && IsPythonSpace(s[end - 1])) --end;
  // Map code-point offsets back to bytes.
  size_t byte_begin = 0, byte_end = 0, cp = 0;
  for (size_t b = 0; b <= text.size(); ++b) {
    if (b == text.size() || (static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) {
      if (cp == begin) byte_begin = b;
      if (cp == end) {
        byte_end = b;
        break;
      }
      ++cp;
    }
  }
  return text.substr(byte_begin, byte_end - byte_begin);
}

size_t CountCharacters(std::string_view text) {
  return ToU32(text).size();
}

std::vector<std::string> SplitParagraph(std::string_view text, SplitLanguage language,
                                        const LengthFunction &length, size_t token_max_n, size_t token_min_n,
                                        size_t merge_len, bool comma_split) {
  std::u32string s = ToU32(text);
  if (s.empty()) return {};
  std::u32string marks = language == SplitLanguage::kZh ? U"。？！；：、.?!;" : U".?!;:";
  if (comma_split) marks += U"，,";
  auto is_mark = [&](char32_t c) { return marks.find(c) != std::u32string::npos; };
  if (!is_mark(s.back())) s.push_back(language == SplitLanguage::kZh ? U'。' : U'.');

  // Cut after each mark; a closing quote right after the mark stays with the piece.
  std::vector<std::u32string> utts;
  size_t st = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_mark(s[i])) continue;
    if (i > st) utts.push_back(s.substr(st, i - st) + s[i]);
    if (i + 1 < s.size() && (s[i + 1] == U'"' || s[i + 1] == U'”')) {
      // Python pops the last piece even when none was added for this mark (e.g. `。。"`), and raises
      // when there is none at all; then the quote is kept as a piece of its own.
      if (utts.empty())
        utts.emplace_back(1, s[i + 1]);
      else
        utts.back().push_back(s[i + 1]);
      st = i + 2;
    } else {
      st = i + 1;
    }
  }

  auto measure = [&](const std::u32string &piece) { return length(ToUtf8(piece)); };
  std::vector<std::string> final_utts;
  std::u32string cur;
  for (const auto &utt : utts) {
    if (measure(cur + utt) > token_max_n && measure(cur) > token_min_n) {
      final_utts.push_back(ToUtf8(cur));
      cur.clear();
    }
    cur += utt;
  }
  if (!cur.empty()) {
    if (measure(cur) < merge_len && !final_utts.empty())
      final_utts.back() += ToUtf8(cur);
    else
      final_utts.push_back(ToUtf8(cur));
  }
  return final_utts;
}

size_t ApproximateTokenCount(std::string_view text) {
  size_t tokens = 0, letters = 0;
  bool in_punct = false;
  auto end_word = [&] {
    tokens += (letters + 5) / 6;
    letters = 0;
  };
  for (char32_t c : ToU32(text)) {
    if (IsLetter(c) && !IsCjkIdeograph(c)) {
      ++letters;
      in_punct = false;
      continue;
    }
    end_word();
    if (IsPythonSpace(c)) {
      in_punct = false;
    } else if (IsPunctOrSymbol(c)) {
      if (!in_punct) ++tokens;
      in_punct = true;
    } else {
      ++tokens;  // digit, CJK character, anything else
      in_punct = false;
    }
  }
  end_word();
  return tokens;
}

}  // namespace cosyvoice::text
