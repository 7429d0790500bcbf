// src/text/normalizer/zh_rules.cc - the Chinese rules, in priority order (see ChineseRules()).
#include <string>

#include "text/normalizer/rules.h"
#include "text/normalizer/scanners.h"
#include "text/normalizer/zh_verbalizer.h"

namespace cosyvoice::tn {

namespace {

using zh::Two;

const Lexicon &Units() {
  static const Lexicon lexicon("zh_units.tsv");
  return lexicon;
}
const Lexicon &Currencies() {
  static const Lexicon lexicon("zh_currency.tsv");
  return lexicon;
}
const Lexicon &MathOps() {
  static const Lexicon lexicon("zh_math.tsv");
  return lexicon;
}
const Lexicon &MeasureWords() {
  static const Lexicon lexicon("zh_measure_words.tsv");
  return lexicon;
}
const Lexicon &DigitKeywords() {
  static const Lexicon lexicon("zh_digit_keywords.tsv");
  return lexicon;
}

bool IsRangeSeparator(char32_t c) {
  return c == U'-' || c == U'~' || c == U'～' || c == U'–' || c == U'—';
}

// A whole number, with 两 for a lone 2 before a measure word (2个 -> 两个, 2万 -> 两万).
std::string SayNumber(const Input &in, const Number &n) {
  const bool liang = n.fraction.empty() && n.sign.empty() && MeasureWords().Longest(in, n.end, false);
  return zh::Decimal(n, liang ? Two::kLiang : Two::kAuto);
}

// Digit groups joined by single '-' or ' ' ("138-1234-5678"); returns the end, fills digits and sizes.
size_t DigitGroups(const Input &in, size_t pos, std::string *digits, std::vector<size_t> *sizes,
                   char32_t *sep) {
  size_t end = pos;
  *sep = 0;
  while (true) {
    const size_t e = in.DigitsEnd(end);
    digits->append(in.Ascii(end, e));
    sizes->push_back(e - end);
    end = e;
    const char32_t c = in[end];
    if ((c == U'-' || c == U' ') && in.IsDigit(end + 1) && (*sep == 0 || *sep == c)) {
      *sep = c;
      ++end;
      continue;
    }
    return end;
  }
}

std::optional<Match> Whitelist(const Input &in, size_t pos) {
  static const Lexicon whitelist("zh_whitelist.tsv");
  return MatchWhitelist(in, pos, whitelist);
}

// 电话13812345678, 尾号1702: digit by digit with 幺.
std::optional<Match> DigitKeyword(const Input &in, size_t pos) {
  const auto keyword = DigitKeywords().Longest(in, pos, false);
  if (!keyword) return std::nullopt;
  size_t j = keyword->end;
  if (in[j] == U'：' || in[j] == U':' || in[j] == U'是' || in[j] == U'为') ++j;
  j = in.SkipSpaces(j);
  if (!in.IsDigit(j)) return std::nullopt;
  std::string digits;
  std::vector<size_t> sizes;
  char32_t sep = 0;
  const size_t end = DigitGroups(in, j, &digits, &sizes, &sep);
  if (digits.size() < 3 || (in[end] == U'.' && in.IsDigit(end + 1))) return std::nullopt;
  return Match{end, in.Raw(pos, j) + zh::Digits(digits, true)};
}

// Mobile (13812345678, 138-1234-5678, +86 138 1234 5678), landline (010-12345678, 0571-8765432)
// and 400/800 service numbers.
std::optional<Match> Phone(const Input &in, size_t pos) {
  if (pos > 0 && (in.IsDigit(pos - 1) || in.IsAsciiLetter(pos - 1))) return std::nullopt;
  size_t i = pos;
  std::string spoken;
  if (in.At(i, U"+86")) {
    spoken = "加" + zh::Digits("86");
    i = in.SkipSpaces(i + 3);
    if (in[i] == U'-') ++i;
  }
  if (!in.IsDigit(i)) return std::nullopt;
  std::string digits;
  std::vector<size_t> sizes;
  char32_t sep = 0;
  const size_t end = DigitGroups(in, i, &digits, &sizes, &sep);
  if (in.IsAsciiLetter(end) || (in[end] == U'.' && in.IsDigit(end + 1))) return std::nullopt;
  const bool mobile = digits.size() == 11 && digits[0] == '1' && digits[1] >= '3' &&
                      (sizes == std::vector<size_t>{11} || sizes == std::vector<size_t>{3, 4, 4});
  const bool landline = sep == U'-' && sizes.size() == 2 && digits[0] == '0' &&
                        (sizes[0] == 3 || sizes[0] == 4) && (sizes[1] == 7 || sizes[1] == 8);
  const bool service = sep == U'-' && sizes == std::vector<size_t>{3, 3, 4} &&
                       (digits.compare(0, 3, "400") == 0 || digits.compare(0, 3, "800") == 0);
  if (!mobile && !landline && !service) return std::nullopt;
  return Match{end, spoken + zh::Digits(digits, true)};
}

// 2024年3月5日, 2024年3月, 3月5日, 3月5号, 2024年.
std::optional<Match> DateChinese(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  const size_t e = in.DigitsEnd(pos);
  Date d;
  size_t end = 0;
  auto month_at = [&](size_t at) -> size_t {
    const size_t me = in.DigitsEnd(at);
    if (me == at || me - at > 2 || in[me] != U'月') return 0;
    const int month = std::stoi(in.Ascii(at, me));
    if (month < 1 || month > 12) return 0;
    d.month = std::to_string(month);
    return me + 1;
  };
  if (e - pos == 4 && in[e] == U'年') {
    d.year = in.Ascii(pos, e);
    end = e + 1;
    if (const size_t me = month_at(end)) end = me;
  } else {
    end = month_at(pos);
    if (end == 0) return std::nullopt;
  }
  std::string day_word = "日";
  if (!d.month.empty()) {
    const size_t de = in.DigitsEnd(end);
    if (de > end && de - end <= 2 && (in[de] == U'日' || in[de] == U'号')) {
      const int day = std::stoi(in.Ascii(end, de));
      if (day >= 1 && day <= 31) {
        d.day = std::to_string(day);
        day_word = in.Raw(de, de + 1);
        end = de + 1;
      }
    }
  }
  return Match{end, zh::Date(d, day_word)};
}

std::optional<Match> NumericDate(const Input &in, size_t pos) {
  const auto d = ScanNumericDate(in, pos);
  if (!d) return std::nullopt;
  return Match{d->end, zh::Date(*d)};
}

std::optional<Match> Time(const Input &in, size_t pos) {
  const auto t = ScanClockTime(in, pos);
  if (!t) return std::nullopt;
  return Match{t->end, zh::Time(*t)};
}

// A score or ratio that is not a time: 78:96, 3:2, 1:100, 1:2:3 -> 七十八比九十六, ..., 一比二比三.
std::optional<Match> Score(const Input &in, size_t pos) {
  const auto terms = ScanRatio(in, pos);
  if (!terms) return std::nullopt;
  std::string out;
  for (const auto &term : terms->second) out += (out.empty() ? "" : "比") + zh::Cardinal(term, Two::kPlain);
  return Match{terms->first, out};
}

// 元/角/分: ¥12.50 -> 十二元五角, ¥0.05 -> 五分, ¥12.05 -> 十二元零五分.
std::string SayYuan(const Number &n, const std::string &name) {
  if (n.fraction.size() > 2) return zh::Decimal(n) + name;
  const std::string whole = StripZeros(n.integer.empty() ? "0" : n.integer);
  const std::string cents = (n.fraction + "00").substr(0, 2);
  std::string out = whole == "0" && cents != "00" ? "" : zh::Cardinal(whole, Two::kLiang) + name;
  if (cents[0] != '0') out += zh::Cardinal(cents.substr(0, 1), Two::kLiang) + "角";
  if (cents[1] != '0')
    out += (cents[0] == '0' && !out.empty() ? zh::Word("0") : "") +
           zh::Cardinal(cents.substr(1), Two::kLiang) + "分";
  return out;
}

// The spoken 块/毛 form: 5.5块 -> 五块五, 5.5块钱 -> 五块五毛钱, 5.55块 -> 五块五毛五分, 0.5块 -> 五毛,
// 5.05块 -> 五块零五分. A trailing 毛 is dropped unless 钱 follows.
std::string SayKuai(const Number &n, bool before_qian) {
  const std::string whole = StripZeros(n.integer.empty() ? "0" : n.integer);
  const std::string cents = (n.fraction + "00").substr(0, 2);
  std::string out = whole == "0" ? "" : zh::Cardinal(whole, Two::kLiang) + "块";
  if (cents[0] != '0') {
    out += zh::Cardinal(cents.substr(0, 1), Two::kLiang);
    if (cents[1] != '0' || before_qian || whole == "0") out += "毛";
  } else if (cents[1] != '0' && !out.empty()) {
    out += zh::Word("0");
  }
  if (cents[1] != '0') out += zh::Cardinal(cents.substr(1), Two::kLiang) + "分";
  return out;
}

std::string SayMoney(const Input &in, Number n, const TableRow &currency, size_t *end) {
  const std::string name(Field(currency, 1));
  // A scale character after the amount: ¥1.5亿 -> 一点五亿元, $5万 -> 五万美元.
  const char32_t scale = in[n.end];
  if (scale == U'万' || scale == U'亿' || scale == U'千' || scale == U'百') {
    *end = n.end + 1;
    return zh::Decimal(n, Two::kLiang) + in.Raw(n.end, n.end + 1) + name;
  }
  *end = n.end;
  if (Field(currency, 2) == "yuan") return SayYuan(n, name);
  while (!n.fraction.empty() && n.fraction.back() == '0') n.fraction.pop_back();
  return zh::Decimal(n, n.fraction.empty() ? Two::kLiang : Two::kAuto) + name;
}

// ¥1,234.56, $5.50, HKD13.5, 100 USD, 12.5元.
std::optional<Match> Money(const Input &in, size_t pos) {
  if (const auto currency = Currencies().Longest(in, pos, false)) {
    if (pos > 0 && in.IsAsciiLetter(pos - 1)) return std::nullopt;
    const size_t j = in.SkipSpaces(currency->end);
    const auto n = ScanNumber(in, j);
    if (j - currency->end > 1 || !n) return std::nullopt;
    size_t end = 0;
    std::string spoken = SayMoney(in, *n, *currency->row, &end);
    return Match{end, spoken};
  }
  const auto n = ScanNumber(in, pos);
  if (!n) return std::nullopt;
  if (in[n->end] == U'元' && !n->fraction.empty()) return Match{n->end + 1, SayYuan(*n, "元")};
  if (in[n->end] == U'块' && !n->fraction.empty() && n->fraction.size() <= 2)
    return Match{n->end + 1, SayKuai(*n, in[n->end + 1] == U'钱')};
  const size_t j = in.SkipSpaces(n->end);
  const auto code = Currencies().Longest(in, j, true);
  if (!code || j - n->end > 1 || !in.IsAsciiLetter(j) || in.IsAsciiLetter(code->end)) return std::nullopt;
  size_t end = 0;
  const std::string spoken = SayMoney(in, *n, *code->row, &end);
  return Match{code->end, spoken};
}

// A number with its sign, when pos starts one: "-5" (sign) or "5".
std::optional<Number> SignedNumber(const Input &in, size_t pos) {
  if (SignAt(in, pos)) return ScanNumber(in, pos, {true, true, true});
  return ScanNumber(in, pos);
}

std::string Negative(const Number &n) {
  return n.sign == "-" ? zh::Word("minus") : n.sign == "+" ? zh::Word("plus") : "";
}

Number Unsigned(Number n) {
  n.sign.clear();
  return n;
}

std::optional<Match> Percent(const Input &in, size_t pos) {
  const auto n = SignedNumber(in, pos);
  if (!n || (in[n->end] != U'%' && in[n->end] != U'‰')) return std::nullopt;
  const std::string lead = in[n->end] == U'%' ? "百分之" : "千分之";
  return Match{n->end + 1, Negative(*n) + lead + zh::Decimal(Unsigned(*n), Two::kPlain)};
}

// Says `number` (already spoken) with a unit row: a template "每小时{}公里" or the name after it.
std::string WithUnit(const std::string &number, const TableRow &unit) {
  const std::string reading(Field(unit, 1));
  const size_t slot = reading.find("{}");
  if (slot == std::string::npos) return number + reading;
  return reading.substr(0, slot) + number + reading.substr(slot + 2);
}

// A number with a unit: 2kg -> 两千克, -3℃ -> 零下三摄氏度, 10km/h -> 每小时十公里.
std::string Quantity(const Number &n, const TableRow &unit) {
  std::string number;
  if (n.sign == "-" && Field(unit, 2) == "temperature")
    number = zh::Word("below_zero") + zh::Decimal(Unsigned(n), Two::kPlain);
  else
    number = zh::Decimal(n, n.fraction.empty() && n.sign.empty() ? Two::kLiang : Two::kAuto);
  return WithUnit(number, unit);
}

std::optional<Match> Measure(const Input &in, size_t pos) {
  const auto n = SignedNumber(in, pos);
  if (!n) return std::nullopt;
  const size_t j = in.SkipSpaces(n->end);
  const auto unit = Units().Longest(in, j);
  if (!unit || j - n->end > 1) return std::nullopt;
  // A one-letter unit after a Latin word is part of a name: iPhone 6s.
  const std::string_view key = Field(*unit->row, 0);
  const size_t before = pos > 0 && in[pos - 1] == U' ' ? pos - 1 : pos;
  if (key.size() == 1 && before > 0 && in.IsAsciiLetter(before - 1)) return std::nullopt;
  return Match{unit->end, Quantity(*n, *unit->row)};
}

// 3-5 / 3~5 / 3–5 -> 三到五; 10%-20% and 10-20% -> 百分之十到百分之二十; 3-5kg -> 三到五千克;
// 10:00-12:00 -> 十点到十二点; 2019-2021年 -> 二零一九到二零二一年.
std::optional<Match> Range(const Input &in, size_t pos) {
  if (pos > 0 && (in.IsWordLetter(pos - 1) || in.Before(pos) == U'-')) return std::nullopt;
  if (const auto t1 = ScanClockTime(in, pos); t1 && t1->minute >= 0 && IsRangeSeparator(in[t1->end])) {
    const auto t2 = ScanClockTime(in, t1->end + 1);
    if (t2 && t2->minute >= 0) return Match{t2->end, zh::Time(*t1) + "到" + zh::Time(*t2)};
  }
  const auto a = SignedNumber(in, pos);
  if (!a) return std::nullopt;
  size_t sep = a->end;
  const bool left_percent = in[sep] == U'%';
  std::optional<Lexicon::Hit> left_unit = left_percent ? std::nullopt : Units().Longest(in, sep);
  if (left_percent) sep += 1;
  if (left_unit) sep = left_unit->end;
  if (!IsRangeSeparator(in[sep])) return std::nullopt;
  const auto b = ScanNumber(in, sep + 1);
  if (!b) return std::nullopt;
  size_t end = b->end;
  if (in.IsDigit(end) ||
      ((in[end] == U'-' || in[end] == U'.' || in[end] == U'/' || in[end] == U':') && in.IsDigit(end + 1)) ||
      std::u32string_view(U"=+×÷*<>").find(in[in.SkipSpaces(end)]) != std::u32string_view::npos)
    return std::nullopt;  // a longer date or number, or an expression: 10-3=7
  if (in[end] == U'%') {
    if (left_unit) return std::nullopt;
    return Match{end + 1, Negative(*a) + "百分之" + zh::Decimal(Unsigned(*a), Two::kPlain) + "到百分之" +
                              zh::Decimal(*b, Two::kPlain)};
  }
  if (left_percent) return std::nullopt;
  const auto right_unit = Units().Longest(in, in.SkipSpaces(end));
  if (right_unit && in.SkipSpaces(end) - end <= 1) {
    if (left_unit && left_unit->row != right_unit->row) return std::nullopt;
    // -5℃~3℃ -> 零下五摄氏度到三摄氏度: each side keeps its unit when the left one had it or is below zero.
    if (left_unit || !a->sign.empty())
      return Match{right_unit->end, Quantity(*a, *right_unit->row) + "到" + Quantity(*b, *right_unit->row)};
    return Match{right_unit->end, WithUnit(zh::Decimal(*a, Two::kLiang) + "到" + zh::Decimal(*b, Two::kLiang),
                                           *right_unit->row)};
  }
  if (left_unit) return std::nullopt;
  if (in[end] == U'年' && a->integer.size() == 4 && b->integer.size() == 4 && a->fraction.empty() &&
      b->fraction.empty())
    return Match{end, zh::Year(a->integer) + "到" + zh::Year(b->integer)};
  const bool measure = MeasureWords().Longest(in, end, false).has_value();
  const Two two = measure ? Two::kLiang : Two::kAuto;
  return Match{end, zh::Decimal(*a, two) + "到" + zh::Decimal(*b, two)};
}

std::optional<Match> FractionRule(const Input &in, size_t pos) {
  const bool sign = SignAt(in, pos) && in[pos] != U'+';
  const auto f = ScanFraction(in, sign ? pos + 1 : pos);
  if (!f) return std::nullopt;
  return Match{f->end, (sign ? zh::Word("minus") : "") + zh::Cardinal(f->denominator, Two::kPlain) + "分之" +
                           zh::Cardinal(f->numerator, Two::kPlain)};
}

// ½ -> 二分之一, 1½ -> 一又二分之一.
std::optional<Match> VulgarFraction(const Input &in, size_t pos) {
  std::string whole;
  size_t at = pos;
  if (in.IsDigit(pos)) {
    if (!AtNumberStart(in, pos)) return std::nullopt;
    at = in.DigitsEnd(pos);
    whole = zh::Cardinal(in.Ascii(pos, at), Two::kPlain) + "又";
  }
  const auto f = ScanVulgarFraction(in, at);
  if (!f) return std::nullopt;
  return Match{f->end, whole + zh::Cardinal(f->denominator, Two::kPlain) + "分之" +
                           zh::Cardinal(f->numerator, Two::kPlain)};
}

// 第3 -> 第三, 第21届 -> 第二十一届 (never 两).
std::optional<Match> Ordinal(const Input &in, size_t pos) {
  if (in[pos] != U'第') return std::nullopt;
  const auto n = ScanNumber(in, pos + 1, {false, false, true});
  if (!n) return std::nullopt;
  std::string out = "第" + zh::Cardinal(StripZeros(n->integer), Two::kPlain);
  // 第3-5名 -> 第三到五名
  if (IsRangeSeparator(in[n->end]) && in.IsDigit(n->end + 1)) {
    if (const auto m = ScanNumber(in, n->end + 1, {false, false, true}))
      return Match{m->end, out + "到" + zh::Cardinal(StripZeros(m->integer), Two::kPlain)};
  }
  return Match{n->end, out};
}

std::optional<Match> Math(const Input &in, size_t pos) {
  const auto e = ScanMath(in, pos, MathOps());
  if (!e) return std::nullopt;
  auto say = [](const Number &n) { return n.sign == "x" ? n.integer : zh::Decimal(n, Two::kPlain); };
  std::string out = e->prefix + say(e->operands[0]);
  for (size_t k = 0; k < e->readings.size(); ++k) out += e->readings[k] + say(e->operands[k + 1]);
  return Match{e->end, out};
}

std::optional<Match> Signed(const Input &in, size_t pos) {
  if (!SignAt(in, pos)) return std::nullopt;
  const auto n = ScanNumber(in, pos, {true, true, true});
  if (!n) return std::nullopt;
  return Match{n->end, zh::Decimal(*n, Two::kPlain)};
}

// 127.0.0.1, 1.2.3: each part digit by digit, joined by 点.
std::optional<Match> Dotted(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  size_t end = in.DigitsEnd(pos);
  std::string out = zh::Digits(in.Ascii(pos, end));
  int dots = 0;
  while (in[end] == U'.' && in.IsDigit(end + 1)) {
    const size_t e = in.DigitsEnd(end + 1);
    out += zh::Word("point") + zh::Digits(in.Ascii(end + 1, e));
    end = e;
    ++dots;
  }
  if (dots < 2) return std::nullopt;
  return Match{end, out};
}

// 80后, 00后: a generation, digit by digit.
std::optional<Match> Generation(const Input &in, size_t pos) {
  if (!in.IsDigit(pos) || !AtNumberStart(in, pos)) return std::nullopt;
  const size_t end = in.DigitsEnd(pos);
  if (end - pos != 2 || in[pos + 1] != U'0' || in[end] != U'后') return std::nullopt;
  return Match{end, zh::Digits(in.Ascii(pos, end))};
}

// RTX 4090, ISO 9001, A380: a number of three or more digits right after a Latin word is a model
// number, read digit by digit (四零九零).
std::optional<Match> ModelNumber(const Input &in, size_t pos) {
  size_t before = pos;
  if (before > 0 && (in[before - 1] == U' ' || in[before - 1] == U'-')) --before;
  if (before == 0 || !in.IsAsciiLetter(before - 1) || !in.IsDigit(pos) || !AtNumberStart(in, pos))
    return std::nullopt;
  const size_t end = in.DigitsEnd(pos);
  if (end - pos < 3 || ((in[end] == U'.' || in[end] == U',') && in.IsDigit(end + 1))) return std::nullopt;
  return Match{end, zh::Digits(in.Ascii(pos, end))};
}

std::optional<Match> Cardinal(const Input &in, size_t pos) {
  const auto n = ScanNumber(in, pos);
  if (!n) return std::nullopt;
  return Match{n->end, SayNumber(in, *n)};
}

}  // namespace

std::vector<Rule> ChineseRules() {
  return {
      {"whitelist", Whitelist},
      {"digit_keyword", DigitKeyword},
      {"phone", Phone},
      {"date_zh", DateChinese},
      {"date", NumericDate},
      {"range", Range},
      {"time", Time},
      {"score", Score},
      {"money", Money},
      {"math", Math},
      {"percent", Percent},
      {"measure", Measure},
      {"fraction", FractionRule},
      {"vulgar_fraction", VulgarFraction},
      {"ordinal", Ordinal},
      {"sign", Signed},
      {"dotted", Dotted},
      {"generation", Generation},
      {"model_number", ModelNumber},
      {"cardinal", Cardinal},
  };
}

}  // namespace cosyvoice::tn
