// src/text/normalizer/en_verbalizer.h - how an English reader says numbers, dates and times.
// Number words come from en_number_words.tsv and en_ordinals.tsv.
//
// Style: the one of Python's inflect.number_to_words, which CosyVoice's spell_out_number uses:
// "and" after hundreds and before a final group under 100, hyphenated tens ("one hundred and
// twenty-three", "one thousand and one"). inflect also puts ", " between thousands groups;
// InflectNumberToWords keeps that (exact parity for spell_out_number), Cardinal leaves it out, because
// in a TTS input a comma is a pause cue and nobody pauses inside a number.
#pragma once

#include <string>
#include <string_view>

#include "text/normalizer/scanners.h"

namespace cosyvoice::tn::en {

// inflect.engine().number_to_words(digits) for a string of ASCII digits, e.g. "1234" -> "one thousand,
// two hundred and thirty-four". Returns the digits unchanged past decillions (inflect raises there).
std::string InflectNumberToWords(std::string_view digits);

// The same words without the group commas. A leading zero ("007") or more than 15 digits: digit by digit.
std::string Cardinal(std::string_view digits);
std::string Digits(std::string_view digits, std::string_view zero = "zero");  // "one two three"
std::string Ordinal(std::string_view digits);                                 // 21 -> twenty-first
std::string OrdinalOfWords(std::string words);  // "twenty-one" -> "twenty-first"
std::string Plural(const std::string &word);    // for ordinals as denominators and decades
// 1999 -> nineteen ninety-nine, 2005 -> two thousand five, 2024 -> twenty twenty-four,
// 1900 -> nineteen hundred, 1905 -> nineteen oh five. Not 4 digits: the cardinal.
std::string Year(std::string_view digits);
std::string Decimal(const Number &n);  // -3.14 -> minus three point one four
std::string MonthName(int month);      // 1 -> January
std::string Date(const tn::Date &d);   // March fifth, twenty twenty-four
std::string Time(const ClockTime &t);  // ten thirty PM, ten o'clock, ten oh five
std::string Word(std::string_view key);

}  // namespace cosyvoice::tn::en
