// src/text/normalizer/zh_verbalizer.cc
#include "text/normalizer/zh_verbalizer.h"

namespace cosyvoice::tn::zh {

std::string Word(std::string_view key) {
  return Lookup("zh_digits.tsv", key);
}

namespace {

std::string DigitName(char d) {
  return Word(std::string(1, d));
}

// One four-digit section (value 1..9999), without its section name. `lead`: this is the number's first
// section, where 10-19 are read 十, 十一 ... rather than 一十.
std::string Section(std::string_view four, bool lead, bool liang_thousand) {
  static const char *const kPlaces[] = {"thousand", "hundred", "ten", ""};
  std::string out;
  bool started = false, zero_pending = false;
  for (size_t k = 0; k < 4; ++k) {
    const char d = four[k];
    if (d == '0') {
      zero_pending = started;
      continue;
    }
    if (zero_pending) out += DigitName('0');
    zero_pending = false;
    const bool first_digit = !started;
    started = true;
    if (k == 2 && d == '1' && lead && first_digit) {
      out += Word("ten");  // 十二, not 一十二
      continue;
    }
    out += (d == '2' && k == 0 && liang_thousand && first_digit) ? Word("two_before_unit") : DigitName(d);
    if (kPlaces[k][0] != '\0') out += Word(kPlaces[k]);
  }
  return out;
}

}  // namespace

std::string Digits(std::string_view digits, bool yao) {
  std::string out;
  for (char d : digits) out += (yao && d == '1') ? Word("phone_one") : DigitName(d);
  return out;
}

std::string Cardinal(std::string_view digits, Two two) {
  if (digits.empty()) return {};
  if (digits.size() > 1 && digits[0] == '0') return Digits(digits);
  if (digits.size() > 16) return Digits(digits);
  if (digits == "0") return DigitName('0');
  if (digits == "2" && two == Two::kLiang) return Word("two_before_unit");
  static const char *const kSectionNames[] = {"", "wan", "yi", "wanyi"};
  const std::string padded = std::string((4 - digits.size() % 4) % 4, '0') + std::string(digits);
  const size_t sections = padded.size() / 4;
  std::string out;
  bool started = false, gap = false;
  for (size_t s = 0; s < sections; ++s) {
    const std::string_view four = std::string_view(padded).substr(s * 4, 4);
    const size_t index = sections - 1 - s;
    if (four == "0000") {
      gap = started;
      continue;
    }
    // 一万零五, 一亿零一千: a zero is said where a section has leading zeros or a section was skipped.
    if (started && (four[0] == '0' || gap)) out += DigitName('0');
    const bool lead = !started;
    const bool liang = two != Two::kPlain && lead;
    if (liang && index > 0 && four == "0002")
      out += Word("two_before_unit");  // 两万, 两亿
    else
      out += Section(four, lead, liang);
    if (index > 0) out += Word(kSectionNames[index]);
    started = true;
    gap = false;
  }
  return out;
}

std::string Decimal(const Number &n, Two two) {
  std::string out = n.sign == "-" ? Word("minus") : n.sign == "+" ? Word("plus") : "";
  out += n.integer.empty() ? DigitName('0') : Cardinal(n.integer, two);
  if (!n.fraction.empty()) out += Word("point") + Digits(n.fraction);
  return out;
}

std::string Year(std::string_view digits) {
  return Digits(digits);
}

std::string Date(const tn::Date &d, std::string_view day_word) {
  std::string out;
  if (!d.year.empty()) out += Year(d.year) + "年";
  if (!d.month.empty()) out += Cardinal(d.month, Two::kPlain) + "月";
  if (!d.day.empty()) out += Cardinal(d.day, Two::kPlain) + std::string(day_word);
  return out;
}

std::string Time(const ClockTime &t) {
  std::string out;
  if (t.meridiem == "am") out += "上午";
  if (t.meridiem == "pm") out += t.hour == 12 ? "中午" : t.hour >= 6 && t.hour < 12 ? "晚上" : "下午";
  out += Cardinal(std::to_string(t.hour), Two::kLiang) + "点";
  if (t.minute > 0) {
    out += (t.minute < 10 ? DigitName('0') : "") + Cardinal(std::to_string(t.minute), Two::kPlain) + "分";
  } else if (t.minute == 0 && t.second > 0) {
    out += DigitName('0') + "分";
  }
  if (t.second > 0) out += Cardinal(std::to_string(t.second), Two::kPlain) + "秒";
  return out;
}

}  // namespace cosyvoice::tn::zh
