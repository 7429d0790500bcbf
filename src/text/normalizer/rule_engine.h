// src/text/normalizer/rule_engine.h - the text-normalization engine: rules applied in priority order.
//
// A Rule is one semiotic class (date, money, ...): a matcher that recognises the class at a position
// of the input and returns the span it covers together with its spoken form. The engine scans the
// text left to right; at each position it asks the rules in priority order and takes the first match,
// otherwise it copies the character (a whole run of digits at once, so that no rule starts in the
// middle of a number). Text that no rule recognises therefore passes through unchanged.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cosyvoice::tn {

// The text being normalised, as code points. Matchers read the folded view: full-width digits and a
// few full-width symbols (％＋－＝＜＞／．) count as their ASCII forms; unmatched text is copied raw.
class Input {
 public:
  explicit Input(std::string_view utf8);
  size_t size() const { return folded_.size(); }
  // The folded code point at i; 0 outside the text (so look-behind and look-ahead need no checks).
  char32_t operator[](size_t i) const { return i < folded_.size() ? folded_[i] : 0; }
  char32_t Before(size_t i) const { return i == 0 ? 0 : (*this)[i - 1]; }
  bool IsDigit(size_t i) const;
  bool IsAsciiLetter(size_t i) const;
  bool IsLetter(size_t i) const;  // any script, Han included
  // A letter of a word-spaced script (Latin, Greek, Cyrillic, ...): not Han, kana or Hangul. A number
  // right after one is part of a word ("COVID-19"), after a Han character it is not ("共3-5天").
  bool IsWordLetter(size_t i) const;
  bool IsSpace(size_t i) const;
  // Whether `literal` occurs at i (exact code points of the folded view).
  bool At(size_t i, std::u32string_view literal) const;
  // The same, ignoring ASCII case.
  bool AtIgnoreCase(size_t i, std::u32string_view literal) const;
  size_t DigitsEnd(size_t i) const;  // the end of the run of digits starting at i
  size_t SkipSpaces(size_t i) const;
  std::string Ascii(size_t begin, size_t end) const;  // folded text, for digit strings
  std::string Raw(size_t begin, size_t end) const;    // the original text as UTF-8

 private:
  std::u32string raw_;
  std::u32string folded_;
};

struct Match {
  size_t end = 0;      // one past the last code point covered
  std::string spoken;  // what replaces the span
};

// Recognises one class at `pos` (look-behind is allowed and is how rules check word boundaries).
using Matcher = std::function<std::optional<Match>(const Input &in, size_t pos)>;

struct Rule {
  std::string name;
  Matcher match;
};

class RuleEngine {
 public:
  // `rules` in priority order. With `space_words` (English) a spoken form made of words is kept
  // apart from letters or digits that touch it in the input ("A4" -> "A four").
  RuleEngine(std::vector<Rule> rules, bool space_words);
  std::string Apply(std::string_view text) const;
  // The same, also naming the rules that fired, in order (for tests and debugging).
  std::string Apply(std::string_view text, std::vector<std::string> *fired) const;

 private:
  std::vector<Rule> rules_;
  bool space_words_;
};

}  // namespace cosyvoice::tn
