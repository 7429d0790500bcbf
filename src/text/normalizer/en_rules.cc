// src/text/normalizer/en_rules.cc - the English rules, in priority order (see EnglishRules()).
#include <string>

#include "text/normalizer/en_verbalizer.h"
#include "text/normalizer/rules.h"
#include "text/normalizer/scanners.h"
#include "text/utf8.h"

namespace cosyvoice::tn {

namespace {

const Lexicon &Units() {
  static const Lexicon lexicon("en_units.tsv");
  return lexicon;
}
const Lexicon &Currencies() {
  static const Lexicon lexicon("en_currency.tsv");
  return lexicon;
}
const Lexicon &MathOps() {
  static const Lexicon lexicon("en_math.tsv");
  return lexicon;
}
const Lexicon &Scales() {
  static const Lexicon lexicon("en_scales.tsv");
  return lexicon;
}

bool IsRangeSeparator(char32_t c) {
  return c == U'-' || c == U'~' || c == U'–' || c == U'—';
}

// Month names and abbreviations (en_months.tsv), capitalised as written there.
struct MonthForm {
  std::u32string text;
  int month;
  bool abbreviation;
};
const std::vector<MonthForm> &MonthForms() {
  static const std::vector<MonthForm> forms = [] {
    std::vector<MonthForm> out;
    for (const auto &row : Table("en_months.tsv")) {
      const int month = std::stoi(row.at(0));
      out.push_back({text::ToU32(row.at(1)), month, false});
      std::string_view abbreviations = Field(row, 2);
      while (!abbreviations.empty()) {
        const size_t comma = abbreviations.find(',');
        out.push_back({text::ToU32(abbreviations.substr(0, comma)), month, true});
        abbreviations =
            comma == std::string_view::npos ? std::string_view() : abbreviations.substr(comma + 1);
      }
    }
    return out;
  }();
  return forms;
}

// A month name at pos ("March", "Mar", "Mar."): the month and the end.
std::optional<std::pair<int, size_t>> MonthAt(const Input &in, size_t pos) {
  if (pos > 0 && in.IsWordLetter(pos - 1)) return std::nullopt;
  std::optional<std::pair<int, size_t>> best;
  for (const MonthForm &form : MonthForms()) {
    if (!in.At(pos, form.text) || in.IsLetter(pos + form.text.size())) continue;
    size_t end = pos + form.text.size();
    if (form.abbreviation && in[end] == U'.') ++end;
    if (!best || end > best->second) best = std::make_pair(form.month, end);
  }
  return best;
}

// A day of the month at pos ("5", "05", "5th"): the day and the end.
std::optional<std::pair<int, size_t>> DayAt(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  size_t end = in.DigitsEnd(pos);
  if (end - pos > 2) return std::nullopt;
  const int day = DigitsValue(in.Ascii(pos, end));
  if (day < 1 || day > 31) return std::nullopt;
  for (const char32_t *suffix : {U"st", U"nd", U"rd", U"th"})
    if (in.AtIgnoreCase(end, suffix) && !in.IsLetter(end + 2)) end += 2;
  if (in.IsLetter(end) || (in.IsDigit(end))) return std::nullopt;
  return std::make_pair(day, end);
}

// ", 2024" or " 2024" after a date: the year digits and the end.
std::optional<std::pair<std::string, size_t>> YearAfter(const Input &in, size_t pos) {
  size_t i = pos;
  if (in[i] == U',') ++i;
  const size_t start = in.SkipSpaces(i);
  if (start == i && in[pos] != U',') return std::nullopt;
  if (start - i > 1 || !in.IsDigit(start)) return std::nullopt;
  const size_t end = in.DigitsEnd(start);
  if (end - start != 4 || in.IsLetter(end) || (in[end] == U'.' && in.IsDigit(end + 1))) return std::nullopt;
  return std::make_pair(in.Ascii(start, end), end);
}

std::optional<Match> Whitelist(const Input &in, size_t pos) {
  static const Lexicon whitelist("en_whitelist.tsv");
  return MatchWhitelist(in, pos, whitelist);
}

std::optional<Match> Url(const Input &in, size_t pos) {
  if (pos > 0 && !in.IsSpace(pos - 1) && in.Before(pos) != U'(' && in.Before(pos) != U'"')
    return std::nullopt;
  size_t end = pos;
  while (end < in.size() && !in.IsSpace(end)) ++end;
  while (end > pos && (in[end - 1] == U'.' || in[end - 1] == U',' || in[end - 1] == U')'))
    --end;  // sentence punctuation
  const bool url =
      in.AtIgnoreCase(pos, U"http://") || in.AtIgnoreCase(pos, U"https://") || in.AtIgnoreCase(pos, U"www.");
  bool email = false;
  for (size_t k = pos; k < end && !url; ++k)
    if (in[k] == U'@' && k > pos) email = true;
  if (!url && !email) return std::nullopt;
  return Match{end, in.Raw(pos, end)};
}

// 555-123-4567, (555) 123-4567, 1-800-555-1234, +1 555 123 4567: groups of digits, digit by digit.
std::optional<Match> Phone(const Input &in, size_t pos) {
  if (pos > 0 && (in.IsDigit(pos - 1) || in.IsWordLetter(pos - 1))) return std::nullopt;
  size_t i = pos;
  std::vector<std::string> groups;
  std::string lead;
  bool plus = false, parens = false;
  if (in[i] == U'+' && in.IsDigit(i + 1)) {
    const size_t e = in.DigitsEnd(i + 1);
    if (e - i - 1 > 3 || (in[e] != U' ' && in[e] != U'-')) return std::nullopt;
    lead = en::Word("plus") + " " + en::Digits(in.Ascii(i + 1, e)) + ", ";
    plus = true;
    i = e + 1;
  }
  if (in[i] == U'(') {
    const size_t e = in.DigitsEnd(i + 1);
    if (e - i - 1 != 3 || in[e] != U')') return std::nullopt;
    groups.push_back(in.Ascii(i + 1, e));
    parens = true;
    i = in.SkipSpaces(e + 1);
    if (i - e - 1 > 1) return std::nullopt;
  }
  char32_t sep = 0;
  while (in.IsDigit(i)) {
    const size_t e = in.DigitsEnd(i);
    groups.push_back(in.Ascii(i, e));
    i = e;
    const char32_t c = in[i];
    if ((c == U'-' || c == U'.' || c == U' ') && in.IsDigit(i + 1) && (sep == 0 || sep == c)) {
      sep = c;
      ++i;
      continue;
    }
    break;
  }
  if (in.IsDigit(i) || in.IsLetter(i) || ((in[i] == U'-' || in[i] == U'.') && in.IsDigit(i + 1)))
    return std::nullopt;
  std::vector<size_t> sizes;
  size_t total = 0;
  for (const auto &g : groups) {
    sizes.push_back(g.size());
    total += g.size();
  }
  const bool nanp = sizes == std::vector<size_t>{3, 3, 4} && (sep != U' ' || parens || plus);
  const bool nanp1 = sizes == std::vector<size_t>{1, 3, 3, 4} && sep == U'-';
  bool international = plus && total >= 7 && groups.size() >= 2;
  for (size_t s : sizes) international = international && s >= 2 && s <= 5;
  if (!nanp && !nanp1 && !international) return std::nullopt;
  std::string out = lead;
  for (size_t k = 0; k < groups.size(); ++k) out += (k ? ", " : "") + en::Digits(groups[k]);
  return Match{i, out};
}

// March 5, 2024 / Mar. 5th / March 2024 / 5 March 2024 / 5th of March.
std::optional<Match> DateWords(const Input &in, size_t pos) {
  if (const auto month = MonthAt(in, pos)) {
    const size_t d = in.SkipSpaces(month->second);
    if (d - month->second != 1) return std::nullopt;
    if (const auto day = DayAt(in, d)) {
      std::string out = en::MonthName(month->first) + " " + en::Ordinal(std::to_string(day->first));
      size_t end = day->second;
      if (const auto year = YearAfter(in, end)) {
        out += ", " + en::Year(year->first);
        end = year->second;
      }
      return Match{end, out};
    }
    if (const size_t ye = in.DigitsEnd(d);
        ye - d == 4 && !in.IsLetter(ye) && !(in[ye] == U'.' && in.IsDigit(ye + 1)))
      return Match{ye, en::MonthName(month->first) + " " + en::Year(in.Ascii(d, ye))};
    return std::nullopt;
  }
  const auto day = DayAt(in, pos);
  if (!day) return std::nullopt;
  size_t m = in.SkipSpaces(day->second);
  if (m - day->second != 1) return std::nullopt;
  if (in.At(m, U"of ")) m += 3;
  const auto month = MonthAt(in, m);
  if (!month) return std::nullopt;
  std::string out = "the " + en::Ordinal(std::to_string(day->first)) + " of " + en::MonthName(month->first);
  size_t end = month->second;
  if (const auto year = YearAfter(in, end)) {
    out += ", " + en::Year(year->first);
    end = year->second;
  }
  return Match{end, out};
}

std::optional<Match> NumericDate(const Input &in, size_t pos) {
  const auto d = ScanNumericDate(in, pos);
  if (!d) return std::nullopt;
  return Match{d->end, en::Date(*d)};
}

std::optional<Match> Time(const Input &in, size_t pos) {
  const auto t = ScanClockTime(in, pos);
  if (!t) return std::nullopt;
  std::string out = en::Time(*t);
  // "at 10 a.m. Then ...": the dots of a.m. also ended the sentence.
  const size_t next = in.SkipSpaces(t->end);
  if (t->meridiem_dotted && (next >= in.size() || (next > t->end && text::IsUpper(in[next])))) out += ".";
  return Match{t->end, out};
}

// 16:9, 3:2, 1:100, 1:2:3 -> sixteen to nine, ..., one to two to three.
std::optional<Match> Ratio(const Input &in, size_t pos) {
  const auto terms = ScanRatio(in, pos);
  if (!terms) return std::nullopt;
  std::string out;
  for (const auto &term : terms->second) out += (out.empty() ? "" : " to ") + en::Cardinal(term);
  return Match{terms->first, out};
}

std::string SayMoney(Number n, const TableRow &currency, const std::string &scale) {
  const std::string sign = n.sign == "-" ? en::Word("minus") + " " : "";
  n.sign.clear();
  const std::string singular(Field(currency, 1)), plural(Field(currency, 2));
  const std::string minor_one(Field(currency, 3)), minor_many(Field(currency, 4));
  if (!scale.empty()) return sign + en::Decimal(n) + " " + scale + " " + plural;
  if (n.fraction.size() > 2 || (minor_one.empty() && !n.fraction.empty()))
    return sign + en::Decimal(n) + " " + plural;
  const std::string whole = StripZeros(n.integer.empty() ? "0" : n.integer);
  const std::string cents = StripZeros((n.fraction + "00").substr(0, 2));
  std::string out;
  if (whole != "0" || cents == "0") out = en::Cardinal(whole) + " " + (whole == "1" ? singular : plural);
  if (cents != "0")
    out += (out.empty() ? "" : " and ") + en::Cardinal(cents) + " " + (cents == "1" ? minor_one : minor_many);
  return sign + out;
}

// $5.50, -$3, €20, £3.50, ¥100, $5 million, $2.5bn, 100 USD, USD 100.
std::optional<Match> Money(const Input &in, size_t pos) {
  std::string sign;
  size_t i = pos;
  if ((in[i] == U'-' || in[i] == U'−') && !(pos > 0 && (in.IsDigit(pos - 1) || in.IsWordLetter(pos - 1)))) {
    sign = "-";
    ++i;
  }
  std::optional<Number> n;
  const TableRow *currency = nullptr;
  size_t end = 0;
  if (const auto c = Currencies().Longest(in, i)) {
    if (pos > 0 && in.IsWordLetter(pos - 1)) return std::nullopt;
    const size_t j = in.SkipSpaces(c->end);
    if (j - c->end > 1 || (j > c->end && !in.IsAsciiLetter(i))) return std::nullopt;
    n = ScanNumber(in, j);
    if (!n) return std::nullopt;
    currency = c->row;
    end = n->end;
  } else if (sign.empty()) {
    n = ScanNumber(in, pos);
    if (!n) return std::nullopt;
    const size_t j = in.SkipSpaces(n->end);
    const auto code = Currencies().Longest(in, j);
    if (!code || j - n->end != 1 || !in.IsAsciiLetter(j)) return std::nullopt;
    return Match{code->end, SayMoney(*n, *code->row, "")};
  } else {
    return std::nullopt;
  }
  n->sign = sign;
  std::string scale;
  const size_t s = in.SkipSpaces(end);
  if (const auto hit = Scales().Longest(in, s);
      hit && s - end <= 1 && !(s > end && Field(*hit->row, 0).size() <= 2)) {
    scale = std::string(Field(*hit->row, 1));
    end = hit->end;
  }
  return Match{end, SayMoney(*n, *currency, scale)};
}

std::optional<Number> SignedNumber(const Input &in, size_t pos) {
  if (SignAt(in, pos)) return ScanNumber(in, pos, {true, true, true});
  return ScanNumber(in, pos);
}

std::optional<Match> Percent(const Input &in, size_t pos) {
  const auto n = SignedNumber(in, pos);
  if (!n || (in[n->end] != U'%' && in[n->end] != U'‰')) return std::nullopt;
  return Match{n->end + 1, en::Decimal(*n) + (in[n->end] == U'%' ? " percent" : " per mille")};
}

// The unit after a number at `at` (one space allowed unless the unit is "attached"-only).
std::optional<Lexicon::Hit> UnitAfter(const Input &in, size_t at) {
  const size_t j = in.SkipSpaces(at);
  if (j - at > 1) return std::nullopt;
  const auto unit = Units().Longest(in, j);
  if (!unit || (j > at && Field(*unit->row, 3) == "attached")) return std::nullopt;
  return unit;
}

std::string UnitName(const TableRow &unit, bool one) {
  return std::string(Field(unit, one ? 1 : 2));
}

std::optional<Match> Measure(const Input &in, size_t pos) {
  const auto n = SignedNumber(in, pos);
  if (!n) return std::nullopt;
  const auto unit = UnitAfter(in, n->end);
  if (!unit) return std::nullopt;
  const bool one = n->integer == "1" && n->fraction.empty();
  return Match{unit->end, en::Decimal(*n) + " " + UnitName(*unit->row, one)};
}

bool LooksLikeYear(const Number &n) {
  const int v = DigitsValue(n.integer);
  return n.integer.size() == 4 && n.fraction.empty() && !n.grouped && v >= 1000 && v <= 2099;
}

// 3-5 -> three to five, 10-20% -> ten to twenty percent, 3-5 km -> three to five kilometers,
// 1990-1995 -> nineteen ninety to nineteen ninety-five, 9:00-17:00.
std::optional<Match> Range(const Input &in, size_t pos) {
  if (pos > 0 && (in.IsWordLetter(pos - 1) || in.Before(pos) == U'-')) return std::nullopt;
  if (const auto t1 = ScanClockTime(in, pos); t1 && t1->minute >= 0 && IsRangeSeparator(in[t1->end])) {
    const auto t2 = ScanClockTime(in, t1->end + 1);
    if (t2 && t2->minute >= 0) return Match{t2->end, en::Time(*t1) + " to " + en::Time(*t2)};
  }
  const auto a = ScanNumber(in, pos);
  if (!a) return std::nullopt;
  size_t sep = a->end;
  const bool left_percent = in[sep] == U'%';
  if (left_percent) ++sep;
  if (!IsRangeSeparator(in[sep])) return std::nullopt;
  const auto b = ScanNumber(in, sep + 1);
  if (!b) return std::nullopt;
  const size_t end = b->end;
  if (in.IsDigit(end) ||
      ((in[end] == U'-' || in[end] == U'.' || in[end] == U'/' || in[end] == U':') && in.IsDigit(end + 1)) ||
      std::u32string_view(U"=+×÷*<>").find(in[in.SkipSpaces(end)]) != std::u32string_view::npos)
    return std::nullopt;  // a longer date or number, or an expression: 10-3=7
  if (in[end] == U'%') return Match{end + 1, en::Decimal(*a) + " to " + en::Decimal(*b) + " percent"};
  if (left_percent) return std::nullopt;
  if (const auto unit = UnitAfter(in, end))
    return Match{unit->end, en::Decimal(*a) + " to " + en::Decimal(*b) + " " + UnitName(*unit->row, false)};
  if (in.IsLetter(end)) return std::nullopt;
  if (LooksLikeYear(*a) && LooksLikeYear(*b))
    return Match{end, en::Year(a->integer) + " to " + en::Year(b->integer)};
  return Match{end, en::Decimal(*a) + " to " + en::Decimal(*b)};
}

// 1st, 2nd, 3rd, 21st, 100th.
std::optional<Match> Ordinal(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  const size_t e = in.DigitsEnd(pos);
  for (const char32_t *suffix : {U"st", U"nd", U"rd", U"th"}) {
    if (in.AtIgnoreCase(e, suffix) && !in.IsLetter(e + 2) && !in.IsDigit(e + 2))
      return Match{e + 2, en::Ordinal(in.Ascii(pos, e))};
  }
  return std::nullopt;
}

// 1990s -> nineteen nineties, '80s and 80s -> eighties, 2000s -> two thousands.
std::optional<Match> Decade(const Input &in, size_t pos) {
  size_t i = pos;
  if ((in[i] == U'\'' || in[i] == U'’') && in.IsDigit(i + 1)) ++i;
  if (!in.IsDigit(i) || !AtNumberStart(in, i) || (i == pos && pos > 0 && in.IsWordLetter(pos - 1)))
    return std::nullopt;
  const size_t e = in.DigitsEnd(i);
  if ((e - i != 2 && e - i != 4) || in[e - 1] != U'0') return std::nullopt;
  // 20s..90s, or '10s and '00s with the apostrophe: a bare "10s" is ten seconds.
  if (e - i == 2 && i == pos && (in[i] == U'0' || in[i] == U'1')) return std::nullopt;
  size_t end = e;
  if (in[end] == U'\'' || in[end] == U'’') ++end;
  if (in[end] != U's' || in.IsLetter(end + 1) || in.IsDigit(end + 1)) return std::nullopt;
  const std::string digits = in.Ascii(i, e);
  return Match{end + 1, en::Plural(digits.size() == 4 ? en::Year(digits) : en::Cardinal(digits))};
}

std::string SayFraction(const std::string &num, const std::string &den, bool mixed) {
  const int d = DigitsValue(den), n = DigitsValue(num);
  const bool one = n == 1;
  std::string name;
  if (d == 2) {
    name = one ? "half" : "halves";
  } else if (d == 4) {
    name = one ? "quarter" : "quarters";
  } else if (d > 0 && (d <= 20 || (d <= 100 && d % 10 == 0) || d == 1000)) {
    name = en::Ordinal(den);
    if (!one) name = en::Plural(name);
  } else {
    return en::Cardinal(StripZeros(num)) + " over " + en::Cardinal(StripZeros(den));
  }
  return (one && mixed ? "a" : en::Cardinal(StripZeros(num))) + " " + name;
}

// 1/2 cup -> one half cup, 3/4 -> three quarters, 2 1/2 -> two and a half, 1½, ½, -1/2.
std::optional<Match> FractionRule(const Input &in, size_t pos) {
  const bool sign = SignAt(in, pos) && in[pos] != U'+';
  const size_t start = sign ? pos + 1 : pos;
  const std::string lead = sign ? en::Word("minus") + " " : "";
  if (const auto v = ScanVulgarFraction(in, start); v && !(start > 0 && in.IsDigit(start - 1)))
    return Match{v->end, lead + SayFraction(v->numerator, v->denominator, false)};
  if (!in.IsDigit(start) || !AtNumberStart(in, start)) return std::nullopt;
  const size_t whole_end = in.DigitsEnd(start);
  if (const auto v = ScanVulgarFraction(in, whole_end))
    return Match{v->end, lead + en::Cardinal(in.Ascii(start, whole_end)) + " and " +
                             SayFraction(v->numerator, v->denominator, true)};
  if (in[whole_end] == U' ' && in.IsDigit(whole_end + 1)) {
    if (const auto f = ScanFraction(in, whole_end + 1))
      return Match{f->end, lead + en::Cardinal(in.Ascii(start, whole_end)) + " and " +
                               SayFraction(f->numerator, f->denominator, true)};
  }
  const auto f = ScanFraction(in, start);
  if (!f) return std::nullopt;
  return Match{f->end, lead + SayFraction(f->numerator, f->denominator, false)};
}

std::optional<Match> Math(const Input &in, size_t pos) {
  const auto e = ScanMath(in, pos, MathOps());
  if (!e) return std::nullopt;
  auto say = [](const Number &n) { return n.sign == "x" ? n.integer : en::Decimal(n); };
  std::string out = (e->prefix.empty() ? "" : e->prefix + " ") + say(e->operands[0]);
  for (size_t k = 0; k < e->readings.size(); ++k) out += " " + e->readings[k] + " " + say(e->operands[k + 1]);
  return Match{e->end, out};
}

// No. 5, No.5, #5 -> number five.
std::optional<Match> NumberSign(const Input &in, size_t pos) {
  if (pos > 0 && (in.IsWordLetter(pos - 1) || in.IsDigit(pos - 1))) return std::nullopt;
  size_t i = pos;
  if (in[i] == U'#') {
    ++i;
  } else if ((in.At(i, U"No.") || in.At(i, U"no."))) {
    i = in.SkipSpaces(i + 3);
    if (i - pos > 4) return std::nullopt;
  } else {
    return std::nullopt;
  }
  const auto n = ScanNumber(in, i);
  if (!n || !in.IsDigit(i)) return std::nullopt;
  return Match{n->end, "number " + en::Decimal(*n)};
}

// v2, v2.0, V2.0.1 -> version two point zero point one.
std::optional<Match> Version(const Input &in, size_t pos) {
  if ((in[pos] != U'v' && in[pos] != U'V') || !in.IsDigit(pos + 1) || (pos > 0 && in.IsWordLetter(pos - 1)))
    return std::nullopt;
  size_t end = in.DigitsEnd(pos + 1);
  std::string out = "version " + en::Cardinal(in.Ascii(pos + 1, end));
  while (in[end] == U'.' && in.IsDigit(end + 1)) {
    const size_t e = in.DigitsEnd(end + 1);
    out += " " + en::Word("point") + " " + en::Cardinal(in.Ascii(end + 1, e));
    end = e;
  }
  if (in.IsLetter(end) || (in[pos] == U'V' && out.find(" point ") == std::string::npos)) return std::nullopt;
  return Match{end, out};
}

// 192.168.1.1 -> one nine two dot one six eight dot one dot one; 1.2.3 -> one point two point three.
std::optional<Match> Dotted(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  std::vector<std::string> parts;
  size_t end = pos;
  while (true) {
    const size_t e = in.DigitsEnd(end);
    parts.push_back(in.Ascii(end, e));
    end = e;
    if (in[end] == U'.' && in.IsDigit(end + 1)) {
      ++end;
      continue;
    }
    break;
  }
  if (parts.size() < 3) return std::nullopt;
  bool ip = parts.size() == 4;
  for (const auto &p : parts) ip = ip && p.size() <= 3 && DigitsValue(p) <= 255;
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += ip ? " dot " : " " + en::Word("point") + " ";
    out += ip ? en::Digits(parts[k]) : en::Cardinal(parts[k]);
  }
  return Match{end, out};
}

// in 1999 -> in nineteen ninety-nine; 1066 AD; 500 BC stays a cardinal + BC.
std::optional<Match> Year(const Input &in, size_t pos) {
  const auto n = ScanNumber(in, pos, {false, false, false});
  if (!n || !LooksLikeYear(*n) || in.IsLetter(n->end)) return std::nullopt;
  bool year = false;
  const size_t after = in.SkipSpaces(n->end);
  for (const char32_t *era : {U"AD", U"BC", U"BCE", U"CE", U"A.D.", U"B.C."})
    if (after - n->end == 1 && in.At(after, era) && !in.IsLetter(after + std::u32string_view(era).size()))
      year = true;
  if (pos >= 2 && in.Before(pos) == U' ' && in.IsLetter(pos - 2)) {
    size_t w = pos - 1;
    while (w > 0 && in.IsLetter(w - 1)) --w;
    std::string word = in.Raw(w, pos - 1);
    for (char &c : word) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    for (const auto &row : Table("en_year_words.tsv"))
      if (row.at(0) == word) year = true;
  }
  if (!year) return std::nullopt;
  return Match{n->end, en::Year(n->integer)};
}

std::optional<Match> Signed(const Input &in, size_t pos) {
  if (!SignAt(in, pos)) return std::nullopt;
  const auto n = ScanNumber(in, pos, {true, true, true});
  if (!n) return std::nullopt;
  return Match{n->end, en::Decimal(*n)};
}

std::optional<Match> Cardinal(const Input &in, size_t pos) {
  const auto n = ScanNumber(in, pos);
  if (!n) return std::nullopt;
  return Match{n->end, en::Decimal(*n)};
}

}  // namespace

std::vector<Rule> EnglishRules() {
  return {
      {"whitelist", Whitelist},
      {"url", Url},
      {"phone", Phone},
      {"date_words", DateWords},
      {"date", NumericDate},
      {"range", Range},
      {"time", Time},
      {"ratio", Ratio},
      {"money", Money},
      {"math", Math},
      {"decade", Decade},
      {"percent", Percent},
      {"measure", Measure},
      {"ordinal", Ordinal},
      {"fraction", FractionRule},
      {"number_sign", NumberSign},
      {"version", Version},
      {"dotted", Dotted},
      {"year", Year},
      {"sign", Signed},
      {"cardinal", Cardinal},
  };
}

}  // namespace cosyvoice::tn
