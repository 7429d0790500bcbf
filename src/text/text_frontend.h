// src/text/text_frontend.h - CosyVoice3's text frontend (CosyVoiceFrontEnd.text_normalize): language
// choice, text normalization, the Chinese clean-up rules and sentence splitting (spec §3.1).
//   TextFrontend frontend;                       // auto language, TN on, approximate English lengths
//   frontend.Split("今天是2024年3月5日。")        // {"今天是二零二四年三月五日。"}
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cosyvoice {

namespace tn {
class TextNormalizer;
}

enum class TextLanguage { kAuto, kZh, kEn };

// "auto", "zh", "en" -> TextLanguage; throws cosyvoice::Error (kInvalidArgument) otherwise.
TextLanguage ParseTextLanguage(std::string_view name);

// The number of BPE tokens of a piece of text (the Qwen2 tokenizer's encode(text).size()).
using TokenCounter = std::function<size_t(std::string_view)>;

struct TextFrontendOptions {
  // kAuto: the Chinese branch when the text has a character in U+4E00..U+9FFF, as the official code.
  TextLanguage language = TextLanguage::kAuto;
  // false: no TN, like the official frontend when neither ttsfrd nor wetext is installed (the other
  // rules, spell_out_number included, still run).
  bool text_normalization = true;
  // Lengths of English pieces for split_paragraph; empty: text::ApproximateTokenCount.
  TokenCounter token_counter;
};

class TextFrontend {
 public:
  explicit TextFrontend(TextFrontendOptions options = {});
  ~TextFrontend();
  TextFrontend(TextFrontend &&) noexcept;
  TextFrontend &operator=(TextFrontend &&) noexcept;

  // text_normalize(text, split=True): the segments to synthesise one after another. The text first
  // goes through text::PrepareInputText (invalid UTF-8 refused, control characters removed with a
  // warning). A text holding both "<|" and "|>" is then returned whole. Throws cosyvoice::Error
  // (kInvalidArgument, "text is empty") for an empty or whitespace-only text.
  std::vector<std::string> Split(std::string_view text) const;
  // text_normalize(text, split=False): the normalised text, unsplit.
  std::string Normalize(std::string_view text) const;

 private:
  bool UseChinese(std::string_view text) const;
  std::string NormalizeBranch(std::string_view stripped, bool chinese) const;

  TextFrontendOptions options_;
  std::unique_ptr<tn::TextNormalizer> zh_;
  std::unique_ptr<tn::TextNormalizer> en_;
};

}  // namespace cosyvoice
