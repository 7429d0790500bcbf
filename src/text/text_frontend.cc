// src/text/text_frontend.cc
#include "text/text_frontend.h"

#include "cosyvoice/error.h"
#include "text/frontend_utils.h"
#include "text/input_text.h"
#include "text/normalizer/text_normalizer.h"

namespace cosyvoice {

namespace {

bool IsBypassed(std::string_view text) {
  return text.find("<|") != std::string_view::npos && text.find("|>") != std::string_view::npos;
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

// re.sub(r'[，,、]+$', '。', text)
std::string TrailingCommaToStop(std::string text) {
  size_t end = text.size();
  while (true) {
    if (end >= 1 && text[end - 1] == ',') {
      end -= 1;
    } else if (end >= 3 && (text.compare(end - 3, 3, "，") == 0 || text.compare(end - 3, 3, "、") == 0)) {
      end -= 3;
    } else {
      break;
    }
  }
  if (end == text.size()) return text;
  return text.substr(0, end) + "。";
}

void RequireText(std::string_view text) {
  if (text.empty()) throw Error(ErrorCode::kInvalidArgument, "text is empty");
  if (text::StripWhitespace(text).empty())
    throw Error(ErrorCode::kInvalidArgument, "text is empty: it holds only whitespace");
}

}  // namespace

TextLanguage ParseTextLanguage(std::string_view name) {
  if (name == "auto") return TextLanguage::kAuto;
  if (name == "zh") return TextLanguage::kZh;
  if (name == "en") return TextLanguage::kEn;
  throw Error(ErrorCode::kInvalidArgument,
              "text language '" + std::string(name) + "': expected auto, zh or en");
}

TextFrontend::TextFrontend(TextFrontendOptions options)
    : options_(std::move(options)),
      zh_(std::make_unique<tn::TextNormalizer>(tn::Language::kZh)),
      en_(std::make_unique<tn::TextNormalizer>(tn::Language::kEn)) {
  if (!options_.token_counter) options_.token_counter = text::ApproximateTokenCount;
}

TextFrontend::~TextFrontend() = default;
TextFrontend::TextFrontend(TextFrontend &&) noexcept = default;
TextFrontend &TextFrontend::operator=(TextFrontend &&) noexcept = default;

bool TextFrontend::UseChinese(std::string_view text) const {
  if (options_.language == TextLanguage::kAuto) return text::ContainsChinese(text);
  return options_.language == TextLanguage::kZh;
}

std::string TextFrontend::NormalizeBranch(std::string_view stripped, bool chinese) const {
  std::string text(stripped);
  if (chinese) {
    if (options_.text_normalization) text = zh_->Normalize(text);
    text = ReplaceAll(std::move(text), "\n", "");
    text = text::ReplaceBlank(text);
    text = text::ReplaceCornerMark(text);
    text = ReplaceAll(std::move(text), ".", "。");
    text = ReplaceAll(std::move(text), " - ", "，");
    text = text::RemoveBracket(text);
    return TrailingCommaToStop(std::move(text));
  }
  if (options_.text_normalization) text = en_->Normalize(text);
  return text::SpellOutNumber(text);
}

std::vector<std::string> TextFrontend::Split(std::string_view raw) const {
  const std::string text = text::PrepareInputText(raw, "text");
  RequireText(text);
  if (IsBypassed(text)) return {std::string(text)};
  const std::string_view stripped = text::StripWhitespace(text);
  const bool chinese = UseChinese(stripped);
  const std::string normalized = NormalizeBranch(stripped, chinese);
  std::vector<std::string> segments =
      chinese ? text::SplitParagraph(normalized, text::SplitLanguage::kZh, text::CountCharacters)
              : text::SplitParagraph(normalized, text::SplitLanguage::kEn, options_.token_counter);
  std::vector<std::string> kept;
  for (auto &segment : segments)
    if (!text::IsOnlyPunctuation(segment)) kept.push_back(std::move(segment));
  return kept;
}

std::string TextFrontend::Normalize(std::string_view raw) const {
  const std::string text = text::PrepareInputText(raw, "text");
  RequireText(text);
  if (IsBypassed(text)) return std::string(text);
  const std::string_view stripped = text::StripWhitespace(text);
  return NormalizeBranch(stripped, UseChinese(stripped));
}

}  // namespace cosyvoice
