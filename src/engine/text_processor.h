// src/engine/text_processor.h - text in the engine: normalization, splitting and tokenization
// behind one small interface (implemented over src/text/).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/bundle_config.h"

namespace cosyvoice {

class BpeTokenizer;
// The bundle's tokenizer (the files its config.json names). Throws Error(kBundle) naming the file.
BpeTokenizer LoadBundleTokenizer(const BundleConfig &bundle);

class TextProcessor {
 public:
  // Loads the bundle's tokenizer files; throws Error(kBundle) naming the file.
  explicit TextProcessor(const BundleConfig &bundle);
  ~TextProcessor();

  std::vector<int32_t> Encode(const std::string &text) const;
  // CosyVoice3's text_normalize with split=true (spec §3.1): normalized sentence segments.
  // Text containing "<|" and "|>" bypasses normalization and is returned as one segment; so does
  // any text when `text_frontend` is false (upstream's text_frontend=False).
  // `normalize` false skips only the text normalization (numbers, dates...), not the other rules.
  std::vector<std::string> Split(const std::string &text, bool text_frontend, bool normalize = true) const;
  // The content of a special token, e.g. "<|endofprompt|>" for the bundle's endofprompt id.
  std::string TokenContent(int32_t id) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cosyvoice
