// src/text/normalizer/text_normalizer.h - written-to-spoken text normalization (TN) for Chinese and
// English: the C++ stand-in for the wetext / WeTextProcessing FST normalizer of the official frontend.
//   tn::TextNormalizer zh(tn::Language::kZh);
//   zh.Normalize("2024年3月5日下午3:30") == "二零二四年三月五日下午三点三十分"
// Coverage, choices and known gaps: docs/text-normalization.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "text/normalizer/rule_engine.h"

namespace cosyvoice::tn {

enum class Language { kZh, kEn };

class TextNormalizer {
 public:
  explicit TextNormalizer(Language language);
  // Rewrites numbers, dates, times, money, measures, ... as words; other text is kept as is.
  std::string Normalize(std::string_view text) const;
  // The same, also naming the rules that fired (in order).
  std::string Normalize(std::string_view text, std::vector<std::string> *fired) const;
  Language language() const { return language_; }

 private:
  Language language_;
  RuleEngine engine_;
};

}  // namespace cosyvoice::tn
