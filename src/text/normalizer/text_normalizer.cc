// src/text/normalizer/text_normalizer.cc
#include "text/normalizer/text_normalizer.h"

#include "text/normalizer/rules.h"

namespace cosyvoice::tn {

TextNormalizer::TextNormalizer(Language language)
    : language_(language),
      engine_(language == Language::kZh ? ChineseRules() : EnglishRules(), language == Language::kEn) {}

std::string TextNormalizer::Normalize(std::string_view text) const {
  return engine_.Apply(text);
}

std::string TextNormalizer::Normalize(std::string_view text, std::vector<std::string> *fired) const {
  return engine_.Apply(text, fired);
}

}  // namespace cosyvoice::tn
