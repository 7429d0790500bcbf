// src/text/normalizer/scanners.h - the language-independent matchers ("taggers") shared by the rules:
// they recognise how a number, a date, a time, a fraction or a table entry is written and return its
// parts as digits; the per-language verbalizers say them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/normalizer/rule_engine.h"
#include "text/normalizer/tables.h"

namespace cosyvoice::tn {

struct Number {
  size_t end = 0;
  std::string sign;      // "-" (also for U+2212), "+" or empty
  std::string integer;   // digits without separators, leading zeros kept
  std::string fraction;  // digits after the decimal point (empty: none)
  bool grouped = false;  // written with thousands separators ("1,234")
  bool IsOne() const { return integer == "1" && fraction.empty() && sign.empty(); }
};

struct NumberSyntax {
  bool sign = false;     // accept a leading - − +
  bool decimal = true;   // accept ".digits"
  bool grouping = true;  // accept "1,234,567"
};

// A number at `pos`. It must not continue a number that starts before `pos`.
std::optional<Number> ScanNumber(const Input &in, size_t pos, NumberSyntax syntax = {});

// Whether pos starts a token of its own: not inside a run of digits or a decimal number.
bool AtNumberStart(const Input &in, size_t pos);

struct Date {
  size_t end = 0;
  std::string year, month, day;  // digits; month and day without leading zeros; any may be empty
};

// 2024-03-05, 2024/3/5, 2024.03.05, 2024/03 (two-digit month), 3/5/2024 (US order unless the first
// field is over 12: then day/month/year).
std::optional<Date> ScanNumericDate(const Input &in, size_t pos);

struct ClockTime {
  size_t end = 0;
  int hour = 0, minute = -1, second = -1;  // -1: not written
  std::string meridiem;                    // "am", "pm" or empty
  bool meridiem_dotted = false;            // written "a.m." / "p.m."
};

// 10:30, 10:30:15, 10:30pm, 10:30 a.m., 10 pm, 10am ("10 pm" forms need the am/pm).
std::optional<ClockTime> ScanClockTime(const Input &in, size_t pos);

// Numbers of 1-3 digits joined by colons (a score or ratio, once the time matcher has declined):
// the end and the numbers.
std::optional<std::pair<size_t, std::vector<std::string>>> ScanRatio(const Input &in, size_t pos);

struct Fraction {
  size_t end = 0;
  std::string numerator, denominator;
};

// 3/4 (not a date: 1/2/2024 is left to the date matcher) and the characters ½ ¾ ...
std::optional<Fraction> ScanFraction(const Input &in, size_t pos);
std::optional<Fraction> ScanVulgarFraction(const Input &in, size_t pos);

// The keys (first column) of a table, for longest-match lookups at a position.
class Lexicon {
 public:
  explicit Lexicon(std::string_view table);
  struct Hit {
    size_t end = 0;
    const TableRow *row = nullptr;
  };
  // The longest key at pos. With `word_end`, a key ending in an ASCII letter must not be followed by
  // another letter or digit ("5kg" matches "kg", "5kgs" does not match it).
  std::optional<Hit> Longest(const Input &in, size_t pos, bool word_end = true,
                             bool ignore_case = false) const;
  const std::vector<TableRow> &rows() const { return *rows_; }

 private:
  const std::vector<TableRow> *rows_;
  std::vector<std::u32string> keys_;
};

// An entry of a whitelist table (fixed expressions such as "24/7") at pos, standing alone: no letter
// or digit touches it. Returns the match with the table's reading.
std::optional<Match> MatchWhitelist(const Input &in, size_t pos, const Lexicon &whitelist);

// Field `i` of a row, or empty.
std::string_view Field(const TableRow &row, size_t i);

// The value of a string of at most 9 ASCII digits; -1 when longer (never overflows).
int DigitsValue(std::string_view digits);

// Strips leading zeros ("007" -> "7", "000" -> "0").
std::string StripZeros(std::string_view digits);

// Whether a + - − at pos is the sign of the number after it: a digit follows, and no digit, letter or
// closing bracket precedes it ("-5", "(−3", but not "COVID-19", "3-5", "x-1").
bool SignAt(const Input &in, size_t pos);

// Operators of a math table (zh_math.tsv, en_math.tsv) between numbers: 1+1=2, 3 × 4, 10 - 3 = 7, and
// the prefix forms ±2, ≈3, >5. A chain whose operators are all "-" written without spaces is left to
// the range matcher (3-5). Operands are numbers, or single Latin letters when a number is present.
struct MathExpr {
  size_t end = 0;
  std::vector<Number> operands;       // a letter operand has sign "x" and its letter as integer
  std::vector<std::string> readings;  // the operator readings, one before each operand but the first
  std::string prefix;                 // the reading of a prefix operator, or empty
};
std::optional<MathExpr> ScanMath(const Input &in, size_t pos, const Lexicon &ops);

}  // namespace cosyvoice::tn
