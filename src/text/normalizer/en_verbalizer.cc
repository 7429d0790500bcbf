// src/text/normalizer/en_verbalizer.cc
#include "text/normalizer/en_verbalizer.h"

#include <vector>

namespace cosyvoice::tn::en {

std::string Word(std::string_view key) {
  return Lookup("en_number_words.tsv", key);
}

namespace {

// Join names thousands groups up to the largest scale word of en_number_words.tsv (decillion,
// 10^33): numbers with more significant digits have no words there.
constexpr size_t kMostDigitsInWords = 36;

// Join's precondition; its callers each read a longer number in their own way.
bool WithinScaleWords(std::string_view digits) {
  return StripZeros(digits).size() <= kMostDigitsInWords;
}

std::string Under100(int v) {
  if (v < 20) return Word(std::to_string(v));
  const std::string tens = Word(std::to_string(v / 10 * 10));
  return v % 10 == 0 ? tens : tens + "-" + Word(std::to_string(v % 10));
}

std::string Under1000(int v) {
  if (v < 100) return Under100(v);
  std::string out = Word(std::to_string(v / 100)) + " " + Word("hundred");
  if (v % 100 != 0) out += " and " + Under100(v % 100);
  return out;
}

// The non-zero thousands groups of a number, highest first, each with its scale word.
std::vector<std::string> Groups(std::string_view digits, bool *last_is_small) {
  const std::string padded = std::string((3 - digits.size() % 3) % 3, '0') + std::string(digits);
  const size_t n = padded.size() / 3;
  std::vector<std::string> parts;
  *last_is_small = false;
  for (size_t g = 0; g < n; ++g) {
    const int v = DigitsValue(std::string_view(padded).substr(g * 3, 3));
    if (v == 0) continue;
    const size_t scale = n - 1 - g;
    std::string part = Under1000(v);
    if (scale > 0) part += " " + Word("scale" + std::to_string(scale));
    parts.push_back(std::move(part));
    *last_is_small = scale == 0 && v < 100;
  }
  return parts;
}

std::string Join(std::string_view digits, std::string_view separator) {
  const std::string stripped = StripZeros(digits);
  if (stripped == "0" || stripped.empty()) return Word("0");
  bool last_is_small = false;
  const std::vector<std::string> parts = Groups(stripped, &last_is_small);
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += (k + 1 == parts.size() && last_is_small) ? std::string_view(" and ") : separator;
    out += parts[k];
  }
  return out;
}

}  // namespace

std::string InflectNumberToWords(std::string_view digits) {
  if (!WithinScaleWords(digits)) return std::string(digits);
  return Join(digits, ", ");
}

std::string Cardinal(std::string_view digits) {
  if ((digits.size() > 1 && digits[0] == '0') || digits.size() > 15) return Digits(digits);
  return Join(digits, " ");
}

std::string Digits(std::string_view digits, std::string_view zero) {
  std::string out;
  for (char d : digits) {
    if (!out.empty()) out += ' ';
    out += d == '0' ? std::string(zero) : Word(std::string(1, d));
  }
  return out;
}

std::string OrdinalOfWords(std::string words) {
  const size_t separator = words.find_last_of(" -");
  const size_t start = separator == std::string::npos ? 0 : separator + 1;
  const std::string last = words.substr(start);
  if (last.empty()) return words;  // nothing to inflect ("" or a trailing separator)
  std::string ordinal = Lookup("en_ordinals.tsv", last);
  if (ordinal.empty()) ordinal = last.back() == 'y' ? last.substr(0, last.size() - 1) + "ieth" : last + "th";
  return words.substr(0, start) + ordinal;
}

std::string Ordinal(std::string_view digits) {
  // Past the scale words a number is read digit by digit, as Cardinal reads long ones; Join would
  // leave the group's scale word empty (found by fuzz_normalizer: "6{0*57}rd").
  if (!WithinScaleWords(digits)) return OrdinalOfWords(Digits(digits));
  return OrdinalOfWords(Join(digits, " "));
}

std::string Plural(const std::string &word) {
  if (word.empty()) return word;
  if (word.back() == 'y') return word.substr(0, word.size() - 1) + "ies";
  if (word.back() == 'x' || word.back() == 's') return word + "es";
  return word + "s";
}

std::string Year(std::string_view digits) {
  if (digits.size() != 4 || digits[0] == '0') return Cardinal(digits);
  const int high = DigitsValue(digits.substr(0, 2));
  const int low = DigitsValue(digits.substr(2, 2));
  if (low == 0) return high % 10 == 0 ? Cardinal(digits) : Under100(high) + " " + Word("hundred");
  if (low < 10) {
    if (high % 10 == 0)  // 2005 -> two thousand five
      return Word(digits.substr(0, 1)) + " " + Word("scale1") + " " + Word(std::to_string(low));
    return Under100(high) + " " + Word("oh") + " " + Word(std::to_string(low));  // nineteen oh five
  }
  return Under100(high) + " " + Under100(low);
}

std::string Decimal(const Number &n) {
  std::string out = n.sign == "-" ? Word("minus") + " " : n.sign == "+" ? Word("plus") + " " : "";
  if (!n.integer.empty()) out += Cardinal(n.integer);
  if (!n.fraction.empty()) out += (n.integer.empty() ? "" : " ") + Word("point") + " " + Digits(n.fraction);
  return out;
}

std::string MonthName(int month) {
  for (const auto &row : Table("en_months.tsv"))
    if (row.size() >= 2 && row[0] == std::to_string(month)) return row[1];
  return {};
}

std::string Date(const tn::Date &d) {
  std::string out = MonthName(DigitsValue(d.month));
  if (!d.day.empty()) out += " " + Ordinal(d.day);
  if (!d.year.empty()) out += (d.day.empty() ? " " : ", ") + Year(d.year);
  return out;
}

std::string Time(const ClockTime &t) {
  std::string out = Cardinal(std::to_string(t.hour));
  if (t.minute > 0)
    out += " " + (t.minute < 10 ? Word("oh") + " " + Word(std::to_string(t.minute)) : Under100(t.minute));
  if (t.second > 0)
    out += " and " + Cardinal(std::to_string(t.second)) + (t.second == 1 ? " second" : " seconds");
  if (!t.meridiem.empty())
    out += t.meridiem == "am" ? " AM" : " PM";
  else if (t.minute == 0 && t.second <= 0)
    out += t.hour > 12 || t.hour == 0 ? " hundred" : " o'clock";  // 17:00 -> seventeen hundred
  return out;
}

}  // namespace cosyvoice::tn::en
