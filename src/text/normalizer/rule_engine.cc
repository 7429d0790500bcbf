// src/text/normalizer/rule_engine.cc
#include "text/normalizer/rule_engine.h"

#include "text/utf8.h"

namespace cosyvoice::tn {

namespace {

char32_t Fold(char32_t c) {
  if (c >= U'０' && c <= U'９') return U'0' + (c - U'０');
  switch (c) {
    case U'％': return U'%';
    case U'＋': return U'+';
    case U'－': return U'-';
    case U'＝': return U'=';
    case U'＜': return U'<';
    case U'＞': return U'>';
    case U'／': return U'/';
    case U'．': return U'.';
    default: return c;
  }
}

// Letters and digits of space-separated scripts (Han, kana and Hangul need no space).
bool IsWordChar(char32_t c) {
  return text::IsAsciiDigit(c) || (text::IsLetter(c) && c < 0x2E80);
}
bool IsAsciiWordChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

Input::Input(std::string_view utf8) : raw_(text::ToU32(utf8)) {
  folded_.reserve(raw_.size());
  for (char32_t c : raw_) folded_.push_back(Fold(c));
}

bool Input::IsDigit(size_t i) const {
  return text::IsAsciiDigit((*this)[i]);
}
bool Input::IsAsciiLetter(size_t i) const {
  return text::IsAsciiLetter((*this)[i]);
}
bool Input::IsLetter(size_t i) const {
  return i < size() && text::IsLetter((*this)[i]);
}
bool Input::IsWordLetter(size_t i) const {
  return IsLetter(i) && (*this)[i] < 0x2E80;
}
bool Input::IsSpace(size_t i) const {
  return i < size() && text::IsWhiteSpace((*this)[i]);
}

bool Input::At(size_t i, std::u32string_view literal) const {
  return i + literal.size() <= size() && std::u32string_view(folded_).substr(i, literal.size()) == literal;
}

bool Input::AtIgnoreCase(size_t i, std::u32string_view literal) const {
  if (i + literal.size() > size()) return false;
  auto lower = [](char32_t c) { return c >= U'A' && c <= U'Z' ? c + 32 : c; };
  for (size_t k = 0; k < literal.size(); ++k)
    if (lower(folded_[i + k]) != lower(literal[k])) return false;
  return true;
}

size_t Input::DigitsEnd(size_t i) const {
  while (IsDigit(i)) ++i;
  return i;
}

size_t Input::SkipSpaces(size_t i) const {
  while ((*this)[i] == U' ') ++i;
  return i;
}

std::string Input::Ascii(size_t begin, size_t end) const {
  return text::ToUtf8(std::u32string_view(folded_).substr(begin, end - begin));
}

std::string Input::Raw(size_t begin, size_t end) const {
  return text::ToUtf8(std::u32string_view(raw_).substr(begin, end - begin));
}

RuleEngine::RuleEngine(std::vector<Rule> rules, bool space_words)
    : rules_(std::move(rules)), space_words_(space_words) {}

std::string RuleEngine::Apply(std::string_view text) const {
  return Apply(text, nullptr);
}

std::string RuleEngine::Apply(std::string_view text, std::vector<std::string> *fired) const {
  const Input in(text);
  std::string out;
  out.reserve(text.size() * 2);
  size_t i = 0;
  while (i < in.size()) {
    std::optional<Match> found;
    for (const Rule &rule : rules_) {
      found = rule.match(in, i);
      if (found && found->end > i) {
        if (fired != nullptr) fired->push_back(rule.name);
        break;
      }
      found.reset();
    }
    if (!found) {
      const size_t end = in.IsDigit(i) ? in.DigitsEnd(i) : i + 1;
      out += in.Raw(i, end);
      i = end;
      continue;
    }
    std::string spoken = std::move(found->spoken);
    if (space_words_ && !spoken.empty()) {
      // Keep words apart from what touches the span: "A4" -> "A four", "4K" -> "four K".
      if (!out.empty() && IsAsciiWordChar(out.back()) && IsAsciiWordChar(spoken.front())) out += ' ';
      if (IsWordChar(in[found->end]) && IsAsciiWordChar(spoken.back())) spoken += ' ';
    }
    out += spoken;
    i = found->end;
  }
  return out;
}

}  // namespace cosyvoice::tn
