// src/text/normalizer/zh_verbalizer.h - how a Mandarin reader says numbers, dates and times.
// Digit and place names come from zh_digits.tsv.
#pragma once

#include <string>
#include <string_view>

#include "text/normalizer/scanners.h"

namespace cosyvoice::tn::zh {

// Digit by digit: "2024" -> 二零二四; with `yao` 1 is 幺 (phone numbers).
std::string Digits(std::string_view digits, bool yao = false);

enum class Two { kAuto, kPlain, kLiang };
// A whole number in 万/亿 sections: 10005 -> 一万零五, 12 -> 十二, 110 -> 一百一十. Numbers of more than
// 16 digits, or with a leading zero, are read digit by digit. kAuto reads a leading 2 as 两 before
// 千/万/亿 (2000 -> 两千); kLiang also reads a lone 2 as 两 (before a measure word); kPlain never.
std::string Cardinal(std::string_view digits, Two two = Two::kAuto);

// Sign, integer part, 点 and the fraction digit by digit: -3.14 -> 负三点一四.
std::string Decimal(const Number &n, Two two = Two::kAuto);

// 2024 -> 二零二四; month 3 -> 三; day 21 -> 二十一.
std::string Year(std::string_view digits);
std::string Date(const tn::Date &d, std::string_view day_word = "日");

// 10:30 -> 十点三十分, 2:05 -> 两点零五分, 10:00 -> 十点, with 上午/下午/晚上 for am/pm.
std::string Time(const ClockTime &t);

std::string Word(std::string_view key);  // a zh_digits.tsv entry by key

}  // namespace cosyvoice::tn::zh
