// src/text/frontend_utils.h - the helpers of CosyVoice's cosyvoice/utils/frontend_utils.py, with the
// same behaviour (differences are noted per function and in docs/text-normalization.md).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cosyvoice::text {

// Any character in U+4E00..U+9FFF (contains_chinese).
bool ContainsChinese(std::string_view text);

// replace_blank: drops a space unless both neighbours are non-space ASCII. Python reads text[-1] for
// a leading space (kept here) and raises for a trailing one (here the space is dropped).
std::string ReplaceBlank(std::string_view text);

std::string ReplaceCornerMark(std::string_view text);  // ² -> 平方, ³ -> 立方
std::string RemoveBracket(std::string_view text);      // drops （）【】 and `, —— -> space

// spell_out_number: every run of decimal digits (\p{Nd}, so full-width digits too) becomes
// inflect.number_to_words of it ("123" -> "one hundred and twenty-three", "1234" -> "one thousand,
// two hundred and thirty-four"). Python's str.isdigit() also takes superscripts and circled digits,
// which inflect then turns into "zero"; those are left alone here.
std::string SpellOutNumber(std::string_view text);

// ^[\p{P}\p{S}]*$ (is_only_punctuation); true for the empty string.
bool IsOnlyPunctuation(std::string_view text);

// Python's str.strip(): leading and trailing whitespace.
std::string_view StripWhitespace(std::string_view text);

enum class SplitLanguage { kZh, kEn };
using LengthFunction = std::function<size_t(std::string_view)>;

// split_paragraph(text, tokenize, lang, token_max_n, token_min_n, merge_len, comma_split).
// `length` measures a piece (characters for zh, BPE tokens for en). The empty text gives no segment.
std::vector<std::string> SplitParagraph(std::string_view text, SplitLanguage language,
                                        const LengthFunction &length, size_t token_max_n = 80,
                                        size_t token_min_n = 60, size_t merge_len = 20,
                                        bool comma_split = false);

// The number of code points (the zh length of split_paragraph).
size_t CountCharacters(std::string_view text);

// A stand-in for the Qwen2 BPE token count when no tokenizer is at hand: one token per digit (exact:
// Qwen2 splits digits), per CJK character and per run of punctuation or symbols, and one per six
// letters of a word (common English words are one token); whitespace is free. On ordinary English it
// is within about 10% of the real count (slightly over); it under-counts long rare words and
// over-counts Chinese, which only moves where long English text is cut.
size_t ApproximateTokenCount(std::string_view text);

}  // namespace cosyvoice::text
