// src/engine/text_processor.cc
#include "engine/text_processor.h"

#include "cosyvoice/error.h"
#include "text/bpe_tokenizer.h"
#include "text/input_text.h"
#include "text/text_frontend.h"

namespace cosyvoice {

BpeTokenizer LoadBundleTokenizer(const BundleConfig &b) {
  return BpeTokenizer::FromFiles(b.Path(b.tokenizer.vocab), b.Path(b.tokenizer.merges),
                                 b.Path(b.tokenizer.added_tokens));
}

class TextProcessor::Impl {
 public:
  explicit Impl(const BundleConfig &b) : tokenizer(LoadBundleTokenizer(b)) {
    TextFrontendOptions options;
    // English segment lengths are counted in the bundle's own BPE tokens, as upstream does.
    options.token_counter = [this](std::string_view s) { return tokenizer.Encode(s).size(); };
    frontend = std::make_unique<TextFrontend>(options);
    options.text_normalization = false;
    frontend_no_tn = std::make_unique<TextFrontend>(options);
  }
  BpeTokenizer tokenizer;
  std::unique_ptr<TextFrontend> frontend, frontend_no_tn;
};

TextProcessor::TextProcessor(const BundleConfig &bundle) : impl_(std::make_unique<Impl>(bundle)) {
  const auto id = bundle.tokenizer.endofprompt_id;
  if (!impl_->tokenizer.IdToToken(id)) {
    throw Error(ErrorCode::kBundle, bundle.config_path.string() + ": field tokenizer.endofprompt_id: id " +
                                        std::to_string(id) + " is not a token of the bundle's tokenizer");
  }
}

TextProcessor::~TextProcessor() = default;

std::vector<int32_t> TextProcessor::Encode(const std::string &text) const {
  return impl_->tokenizer.Encode(text);
}

std::vector<std::string> TextProcessor::Split(const std::string &text, bool text_frontend,
                                              bool normalize) const {
  if (text_frontend) return (normalize ? impl_->frontend : impl_->frontend_no_tn)->Split(text);
  // upstream text_normalize(text_frontend=False): the text as given, one segment - after the input
  // rule every path applies (invalid UTF-8 refused, control characters removed)
  std::string clean = text::PrepareInputText(text, "text");
  if (clean.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "text is empty");
  }
  return {std::move(clean)};
}

std::string TextProcessor::TokenContent(int32_t id) const {
  auto t = impl_->tokenizer.IdToToken(id);
  if (!t) throw Error(ErrorCode::kBundle, "tokenizer: no token with id " + std::to_string(id));
  return *t;
}

}  // namespace cosyvoice
