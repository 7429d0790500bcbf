// src/text/tokenizer_files.h - reading a BPE tokenizer's files into memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/added_tokens.h"

namespace cosyvoice {

// What a BpeTokenizer is built from, as read from disk (not yet cross-checked).
struct BpeFiles {
  std::string source;                                       // prefixes error messages
  std::unordered_map<std::string, int32_t> vocab;           // byte-level token -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<std::string> merge_origins;                   // per merge, e.g. "line 7", for errors
  std::vector<AddedToken> added_tokens;
};

// vocab.json ({token: id}), merges.txt ("#version" line skipped, "a b" per line) and
// added_tokens.json (LoadAddedTokens). Errors are Error(kBundle, "<path>: ...").
BpeFiles ReadBpeFiles(const std::filesystem::path &vocab_json, const std::filesystem::path &merges_txt,
                      const std::filesystem::path &added_tokens_json);

// A Hugging Face tokenizer.json. Its pipeline must be Qwen2's (NFC; Split(Qwen2 regex, Isolated) +
// ByteLevel; plain BPE; ByteLevel decoder; no post-processor tokens, truncation or padding), else
// Error(kUnsupported) naming the field. Added tokens get the ids tokenizers gives them on load: in
// file order, the vocabulary's id for content already in it, else the next id from the vocabulary
// size on (the "id" fields are only compared, with a warning, as tokenizers does).
BpeFiles ReadTokenizerJson(const std::filesystem::path &path);

}  // namespace cosyvoice
