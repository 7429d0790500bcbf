// src/cli/strict_number.h - numbers on the command line, parsed strictly.
//
// CLI11 (like strtoull) takes "-1" for an unsigned option as 2^64-1, saturates 2^64 and reads 1e23
// through a double; the flags of `tts` would then silently use another value than the one typed.
// Here a value is the whole argument in plain decimal notation, in the option's range, or an error
// that names the flag, the range and what was typed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cosyvoice::cli {

// A base-10 integer: optional '-', digits, nothing else (no '+', spaces, "1e3", "0x10", "5.0").
// Empty when it is not one or does not fit.
std::optional<int64_t> ParseInt64(std::string_view text);
// Digits only (no sign); empty when it does not fit in 64 bits.
std::optional<uint64_t> ParseUint64(std::string_view text);
// A finite decimal number: [-]digits[.digits][e[+-]digits] or [-].digits...; empty for nan, inf,
// hex floats, overflow and underflow to zero of a nonzero value.
std::optional<double> ParseFiniteReal(std::string_view text);

// An integer flag's range, inclusive.
struct IntRange {
  int64_t min, max;
};
// A real flag's range; an open end excludes its bound ("(0, 1]").
struct RealRange {
  double min, max;
  bool min_open = false, max_open = false;
  bool Contains(double x) const;
  std::string ToString() const;  // "[0.5, 2]", "(0, 1]"
};

// Parses `text` given for `flag`; throws Error(kInvalidArgument) such as
// "--steps: expected an integer from 1 to 1000, got '0'" (+ `hint` when given).
int64_t IntFlag(const std::string &flag, const std::string &text, IntRange range,
                const std::string &hint = "");
double RealFlag(const std::string &flag, const std::string &text, RealRange range,
                const std::string &hint = "");
// A 64-bit seed: 0 .. 2^64-1.
uint64_t SeedFlag(const std::string &flag, const std::string &text);

}  // namespace cosyvoice::cli
