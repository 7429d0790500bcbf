// src/text/cosyvoice3_tokens.h - the added tokens of CosyVoice3's text tokenizer, with their ids.
#pragma once

#include <cstdint>
#include <vector>

#include "text/added_tokens.h"

namespace cosyvoice {

// Ids fixed by the release (docs/cosyvoice3-spec.md section 3.2).
constexpr int32_t kQwen2VocabSize = 151643;  // vocab.json entries; added tokens start here
constexpr int32_t kEndOfTextId = 151643;     // <|endoftext|>, eos and pad
constexpr int32_t kEndOfPromptId = 151646;   // <|endofprompt|>
constexpr int32_t kEndOfSystemId = 151663;   // <|endofsystem|>
constexpr int32_t kLastAddedTokenId = 151923;

// Every added token of upstream's CosyVoice3Tokenizer, in id order: the three that
// CosyVoice-BlankEN's tokenizer.json already has (<|endoftext|> 151643, <|im_start|> 151644,
// <|im_end|> 151645), then the tokens `add_special_tokens` appends in its list order (18 tags and
// <|endofsystem|> 151646-151663, 84 CMU phones 151664-151747, 176 pinyin finals/initials
// 151748-151923). All are special and matched in the raw text (normalized=false, no strip, not
// single-word), the flags transformers gives string tokens passed to add_special_tokens.
//
// This list is the reference for the C++ side and its tests. The exporter writes the bundle's
// tokenizer/added_tokens.json from the Python side; both must agree, and a bundle whose file differs
// from this list is a different model.
std::vector<AddedToken> CosyVoice3AddedTokens();

}  // namespace cosyvoice
