// src/text/normalizer/scanners.cc
#include "text/normalizer/scanners.h"

#include "text/utf8.h"

namespace cosyvoice::tn {

namespace {

bool IsDateSeparator(char32_t c) {
  return c == U'-' || c == U'/' || c == U'.';
}

// Digits at pos, between min and max of them; returns the end or 0.
size_t DigitField(const Input &in, size_t pos, size_t min, size_t max) {
  const size_t end = in.DigitsEnd(pos);
  const size_t n = end - pos;
  return n >= min && n <= max ? end : 0;
}

bool IsColon(char32_t c) {
  return c == U':' || c == U'：';
}

}  // namespace

std::string_view Field(const TableRow &row, size_t i) {
  return i < row.size() ? row[i] : std::string_view();
}

int DigitsValue(std::string_view digits) {
  if (digits.size() > 9) return -1;
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::string StripZeros(std::string_view digits) {
  const size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string(digits.empty() ? "" : "0")
                                         : std::string(digits.substr(first));
}

bool AtNumberStart(const Input &in, size_t pos) {
  if (pos > 0 && in.IsDigit(pos - 1)) return false;
  // "1.5", "1,234": the digits after the separator belong to the number before it.
  // "1.2.3": digits after a point belong to the number before it (commas never: "1,2,3" is a list).
  if (in.Before(pos) == U'.' && pos >= 2 && in.IsDigit(pos - 2)) return false;
  return true;
}

std::optional<Number> ScanNumber(const Input &in, size_t pos, NumberSyntax syntax) {
  Number n;
  size_t i = pos;
  if (syntax.sign) {
    const char32_t c = in[i];
    if (c == U'-' || c == U'−' || c == U'+') {
      n.sign = c == U'+' ? "+" : "-";
      ++i;
    }
  }
  if (!in.IsDigit(i) || (i == pos && !AtNumberStart(in, pos))) return std::nullopt;
  size_t end = in.DigitsEnd(i);
  n.integer = in.Ascii(i, end);
  if (syntax.grouping && end - i <= 3 && in[end] == U',' && DigitField(in, end + 1, 3, 3)) {
    while (in[end] == U',' && DigitField(in, end + 1, 3, 3)) {
      n.integer += in.Ascii(end + 1, end + 4);
      end += 4;
      n.grouped = true;
    }
  }
  if (syntax.decimal && in[end] == U'.' && in.IsDigit(end + 1)) {
    const size_t frac_end = in.DigitsEnd(end + 1);
    // "1.2.3" is a version or an address, not a decimal.
    if (!(in[frac_end] == U'.' && in.IsDigit(frac_end + 1))) {
      n.fraction = in.Ascii(end + 1, frac_end);
      end = frac_end;
    }
  }
  n.end = end;
  return n;
}

std::optional<Date> ScanNumericDate(const Input &in, size_t pos) {
  if (!AtNumberStart(in, pos) || (pos > 0 && IsDateSeparator(in.Before(pos)) && in.IsDigit(pos - 2)))
    return std::nullopt;
  const size_t first_end = in.DigitsEnd(pos);
  const size_t first_len = first_end - pos;
  const char32_t sep = in[first_end];
  if (!IsDateSeparator(sep) || first_len == 0) return std::nullopt;
  auto ends_cleanly = [&](size_t end) {
    return !in.IsDigit(end) && !(IsDateSeparator(in[end]) && in.IsDigit(end + 1));
  };
  Date d;
  if (first_len == 4) {  // year first
    const size_t m_end = DigitField(in, first_end + 1, 1, 2);
    if (m_end == 0) return std::nullopt;
    const int month = DigitsValue(in.Ascii(first_end + 1, m_end));
    if (month < 1 || month > 12) return std::nullopt;
    d.year = in.Ascii(pos, first_end);
    d.month = std::to_string(month);
    if (in[m_end] == sep) {
      const size_t d_end = DigitField(in, m_end + 1, 1, 2);
      if (d_end == 0 || !ends_cleanly(d_end)) return std::nullopt;
      const int day = DigitsValue(in.Ascii(m_end + 1, d_end));
      if (day < 1 || day > 31) return std::nullopt;
      d.day = std::to_string(day);
      d.end = d_end;
      return d;
    }
    // Year and month only: a two-digit month after - or /, so that 2019-2021 stays a range.
    if (sep == U'.' || m_end - first_end - 1 != 2 || !ends_cleanly(m_end)) return std::nullopt;
    d.end = m_end;
    return d;
  }
  if (first_len > 2) return std::nullopt;
  const size_t second_end = DigitField(in, first_end + 1, 1, 2);
  if (second_end == 0 || in[second_end] != sep) return std::nullopt;
  const size_t year_end = DigitField(in, second_end + 1, 4, 4);
  if (year_end == 0 || !ends_cleanly(year_end)) return std::nullopt;
  int a = DigitsValue(in.Ascii(pos, first_end));
  int b = DigitsValue(in.Ascii(first_end + 1, second_end));
  if (a > 12) std::swap(a, b);  // 25/12/2024: day first
  if (a < 1 || a > 12 || b < 1 || b > 31) return std::nullopt;
  d.year = in.Ascii(second_end + 1, year_end);
  d.month = std::to_string(a);
  d.day = std::to_string(b);
  d.end = year_end;
  return d;
}

std::optional<ClockTime> ScanClockTime(const Input &in, size_t pos) {
  if (!AtNumberStart(in, pos)) return std::nullopt;
  const size_t h_end = DigitField(in, pos, 1, 2);
  if (h_end == 0) return std::nullopt;
  ClockTime t;
  t.hour = DigitsValue(in.Ascii(pos, h_end));
  size_t end = h_end;
  if (IsColon(in[h_end])) {
    const size_t m_end = DigitField(in, h_end + 1, 2, 2);
    if (m_end == 0) return std::nullopt;
    t.minute = DigitsValue(in.Ascii(h_end + 1, m_end));
    end = m_end;
    if (IsColon(in[m_end])) {
      const size_t s_end = DigitField(in, m_end + 1, 2, 2);
      if (s_end == 0) return std::nullopt;
      t.second = DigitsValue(in.Ascii(m_end + 1, s_end));
      end = s_end;
    }
    if (in.IsDigit(end) || (IsColon(in[end]) && in.IsDigit(end + 1))) return std::nullopt;
    if (t.hour > 24 || t.minute > 59 || t.second > 59) return std::nullopt;
  }
  // am / pm, possibly after one space and possibly dotted.
  const size_t m = in.SkipSpaces(end);
  if (m - end <= 1) {
    for (const char32_t *form : {U"a.m.", U"p.m.", U"am", U"pm"}) {
      const std::u32string_view f(form);
      if (in.AtIgnoreCase(m, f) && !in.IsWordLetter(m + f.size()) && !in.IsDigit(m + f.size())) {
        t.meridiem = (form[0] == U'a') ? "am" : "pm";
        t.meridiem_dotted = f.size() == 4;
        end = m + f.size();
        break;
      }
    }
  }
  if (t.minute < 0 && (t.meridiem.empty() || t.hour < 1 || t.hour > 12)) return std::nullopt;
  if (!t.meridiem.empty() && t.hour > 12) return std::nullopt;
  t.end = end;
  return t;
}

std::optional<std::pair<size_t, std::vector<std::string>>> ScanRatio(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  std::vector<std::string> terms;
  size_t end = pos;
  while (true) {
    const size_t e = in.DigitsEnd(end);
    if (e - end > 3) return std::nullopt;
    terms.push_back(in.Ascii(end, e));
    end = e;
    if (!IsColon(in[end]) || !in.IsDigit(end + 1)) break;
    ++end;
  }
  if (terms.size() < 2 || (in[end] == U'.' && in.IsDigit(end + 1))) return std::nullopt;
  return std::make_pair(end, std::move(terms));
}

std::optional<Fraction> ScanFraction(const Input &in, size_t pos) {
  if (!AtNumberStart(in, pos) || in.Before(pos) == U'/') return std::nullopt;
  const size_t n_end = in.DigitsEnd(pos);
  if (n_end == pos || in[n_end] != U'/' || !in.IsDigit(n_end + 1)) return std::nullopt;
  const size_t d_end = in.DigitsEnd(n_end + 1);
  if (in[d_end] == U'/' || (in[d_end] == U'.' && in.IsDigit(d_end + 1))) return std::nullopt;
  Fraction f{d_end, in.Ascii(pos, n_end), in.Ascii(n_end + 1, d_end)};
  if (StripZeros(f.denominator) == "0") return std::nullopt;
  return f;
}

std::optional<Fraction> ScanVulgarFraction(const Input &in, size_t pos) {
  static const Lexicon fractions("vulgar_fractions.tsv");
  const auto hit = fractions.Longest(in, pos, false);
  if (!hit) return std::nullopt;
  return Fraction{hit->end, std::string(Field(*hit->row, 1)), std::string(Field(*hit->row, 2))};
}

Lexicon::Lexicon(std::string_view table) : rows_(&Table(table)) {
  keys_.reserve(rows_->size());
  for (const auto &row : *rows_) keys_.push_back(text::ToU32(row.at(0)));
}

std::optional<Match> MatchWhitelist(const Input &in, size_t pos, const Lexicon &whitelist) {
  if (pos > 0 && (in.IsDigit(pos - 1) || in.IsWordLetter(pos - 1))) return std::nullopt;
  const auto hit = whitelist.Longest(in, pos, false);
  if (!hit || in.IsDigit(hit->end) || in.IsWordLetter(hit->end)) return std::nullopt;
  return Match{hit->end, std::string(Field(*hit->row, 1))};
}

std::optional<Lexicon::Hit> Lexicon::Longest(const Input &in, size_t pos, bool word_end,
                                             bool ignore_case) const {
  std::optional<Hit> best;
  for (size_t k = 0; k < keys_.size(); ++k) {
    const std::u32string &key = keys_[k];
    if (key.empty() || (best && best->end - pos >= key.size())) continue;
    if (!(ignore_case ? in.AtIgnoreCase(pos, key) : in.At(pos, key))) continue;
    const size_t end = pos + key.size();
    if (word_end && text::IsAsciiLetter(key.back()) && (in.IsAsciiLetter(end) || in.IsDigit(end))) continue;
    best = Hit{end, &(*rows_)[k]};
  }
  return best;
}

bool SignAt(const Input &in, size_t pos) {
  const char32_t c = in[pos];
  if (c != U'-' && c != U'−' && c != U'+') return false;
  if (!in.IsDigit(pos + 1)) return false;
  const char32_t b = in.Before(pos);
  return !(text::IsAsciiDigit(b) || (pos > 0 && in.IsWordLetter(pos - 1)) || b == U')' || b == U']' ||
           b == U'.' || b == U'/' || b == U'-' || b == U'+');
}

namespace {

std::optional<Number> MathOperand(const Input &in, size_t pos, bool allow_letter) {
  if (auto n = ScanNumber(in, pos, {true, true, true}); n && (n->sign.empty() || SignAt(in, pos))) return n;
  if (allow_letter && in.IsAsciiLetter(pos) && !in.IsLetter(pos + 1) && !in.IsDigit(pos + 1) &&
      !(pos > 0 && in.IsWordLetter(pos - 1))) {
    Number letter;
    letter.sign = "x";
    letter.integer = in.Raw(pos, pos + 1);
    letter.end = pos + 1;
    return letter;
  }
  return std::nullopt;
}

}  // namespace

std::optional<MathExpr> ScanMath(const Input &in, size_t pos, const Lexicon &ops) {
  MathExpr e;
  size_t i = pos;
  // Prefix operators (not + or -: those are signs).
  const std::u32string_view prefix_ops = U"±≈≥≤><≠";
  if (auto op = ops.Longest(in, pos, false); op && prefix_ops.find(in[pos]) != std::u32string_view::npos) {
    if (pos > 0 && (in.IsDigit(pos - 1) || in.IsWordLetter(pos - 1))) return std::nullopt;
    const size_t start = in.SkipSpaces(op->end);
    auto operand = ScanNumber(in, start, {false, true, true});
    if (!operand || start - op->end > 1) return std::nullopt;
    e.prefix = std::string(Field(*op->row, 1));
    e.operands.push_back(*operand);
    e.end = operand->end;
    i = operand->end;
  } else {
    auto first = MathOperand(in, pos, true);
    if (!first) return std::nullopt;
    e.operands.push_back(*first);
    i = first->end;
  }
  bool has_number = e.operands[0].sign != "x";
  bool only_tight_minus = true;
  while (true) {
    const size_t op_at = in.SkipSpaces(i);
    if (op_at - i > 1) break;
    auto op = ops.Longest(in, op_at, false);
    if (!op) break;
    const size_t next = in.SkipSpaces(op->end);
    if (next - op->end > 1 || (op_at == i) != (next == op->end)) break;  // spaces on both sides or none
    auto operand = MathOperand(in, next, true);
    if (!operand) break;
    const bool minus = in[op_at] == U'-' || in[op_at] == U'−';
    if (!minus || op_at != i) only_tight_minus = false;
    has_number = has_number || operand->sign != "x";
    e.readings.emplace_back(Field(*op->row, 1));
    e.operands.push_back(*operand);
    i = operand->end;
  }
  if (!has_number) return std::nullopt;
  if (e.prefix.empty() && (e.readings.empty() || only_tight_minus)) return std::nullopt;
  // Not the start of a longer run of digits and separators (a date, a phone number).
  if (in.IsDigit(i) || ((in[i] == U'.' || in[i] == U'/' || in[i] == U':') && in.IsDigit(i + 1)))
    return std::nullopt;
  e.end = i;
  return e;
}

}  // namespace cosyvoice::tn
