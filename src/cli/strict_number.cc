// src/cli/strict_number.cc - see strict_number.h.
#include "cli/strict_number.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "cosyvoice/error.h"

namespace cosyvoice::cli {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

// [-](digits[.digits*] | .digits)([eE][+-]?digits)?
bool IsDecimalNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

std::string Shown(const std::string &text) {
  return "'" + text + "'";
}

// %g without trailing noise: 0.5, 2, 100, 1e+06.
std::string Number(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

}  // namespace

std::optional<uint64_t> ParseUint64(std::string_view text) {
  if (!AllDigits(text)) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  const auto magnitude = ParseUint64(negative ? text.substr(1) : text);
  if (!magnitude) return std::nullopt;
  if (negative) {
    if (*magnitude > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return static_cast<int64_t>(0 - *magnitude);
  }
  if (*magnitude > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(*magnitude);
}

std::optional<double> ParseFiniteReal(std::string_view text) {
  if (!IsDecimalNumber(text)) return std::nullopt;
  const std::string s(text);
  errno = 0;
  char *end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  // ERANGE: overflow (inf, caught above) or a nonzero value too small for a double.
  if (errno == ERANGE) return std::nullopt;
  return v;
}

bool RealRange::Contains(double x) const {
  return (min_open ? x > min : x >= min) && (max_open ? x < max : x <= max);
}

std::string RealRange::ToString() const {
  return std::string(min_open ? "(" : "[") + Number(min) + ", " + Number(max) + (max_open ? ")" : "]");
}

int64_t IntFlag(const std::string &flag, const std::string &text, IntRange range, const std::string &hint) {
  const auto v = ParseInt64(text);
  if (!v || *v < range.min || *v > range.max) {
    throw Error(ErrorCode::kInvalidArgument, flag + ": expected an integer from " +
                                                 std::to_string(range.min) + " to " +
                                                 std::to_string(range.max) + ", got " + Shown(text) +
                                                 (hint.empty() ? "" : " (" + hint + ")"));
  }
  return *v;
}

double RealFlag(const std::string &flag, const std::string &text, RealRange range, const std::string &hint) {
  const auto v = ParseFiniteReal(text);
  if (!v || !range.Contains(*v)) {
    throw Error(ErrorCode::kInvalidArgument, flag + ": expected a number in " + range.ToString() + ", got " +
                                                 Shown(text) + (hint.empty() ? "" : " (" + hint + ")"));
  }
  return *v;
}

uint64_t SeedFlag(const std::string &flag, const std::string &text) {
  const auto v = ParseUint64(text);
  if (!v) {
    throw Error(ErrorCode::kInvalidArgument, flag +
                                                 ": expected an integer from 0 to 18446744073709551615 or "
                                                 "'random', got " +
                                                 Shown(text));
  }
  return *v;
}

}  // namespace cosyvoice::cli
