// src/text/bpe_tokenizer.h - Qwen2's byte-level BPE tokenizer, token for token equal to Hugging Face's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/added_tokens.h"

namespace cosyvoice {

struct BpeFiles;  // text/tokenizer_files.h

// Encodes text the way Hugging Face tokenizers runs Qwen2's tokenizer.json (NFC normalizer,
// Split(Qwen2 regex, Isolated) + ByteLevel pre-tokenizer, BPE model without unk, dropout or byte
// fallback, no BOS/EOS):
//   1. added tokens with normalized=false are found in the raw input (leftmost, then longest);
//   2. each text between them is NFC-normalized, then added tokens with normalized=true are found in it;
//   3. each remaining text is split by the Qwen2 pre-tokenizer regex, mapped byte by byte to the GPT-2
//      alphabet and merged by BPE (lowest merge rank first, leftmost on ties).
// Input must be well-formed UTF-8: Hugging Face only ever sees Rust strings, so there is no behaviour
// to match for anything else, and Encode throws Error(kInvalidArgument) naming the byte offset.
//
// Thread-safe: Encode/Decode may be called concurrently (the word cache is locked).
class BpeTokenizer {
 public:
  // The bundle's files: vocab.json ({token: id}), merges.txt ("#version" line skipped, "a b" per line)
  // and added_tokens.json ([{"id", "content", "special"}]). Errors are Error(kBundle, "<path>: ...").
  static BpeTokenizer FromFiles(const std::filesystem::path &vocab_json,
                                const std::filesystem::path &merges_txt,
                                const std::filesystem::path &added_tokens_json);

  // A Hugging Face tokenizer.json with Qwen2's pipeline (anything else is Error(kUnsupported)). Added
  // tokens get the ids tokenizers gives them, which depend on file order, not on their "id" fields.
  static BpeTokenizer FromTokenizerJson(const std::filesystem::path &path);

  // From memory; `source` names the origin in error messages. Merges are in rank order.
  BpeTokenizer(std::unordered_map<std::string, int32_t> vocab,
               const std::vector<std::pair<std::string, std::string>> &merges,
               std::vector<AddedToken> added_tokens, const std::string &source = "<memory>");

  BpeTokenizer(BpeTokenizer &&) noexcept;
  BpeTokenizer &operator=(BpeTokenizer &&) noexcept;
  ~BpeTokenizer();

  std::vector<int32_t> Encode(std::string_view utf8) const;

  // Hugging Face's decode: added tokens give their content, vocabulary tokens their bytes; unknown ids
  // are dropped; invalid UTF-8 in the joined bytes becomes U+FFFD. Like Hugging Face, an added token is
  // mapped through the byte-level alphabet too when all its characters belong to it, so "[ià]" decodes
  // as "[i\uFFFD]" ('à' is the alphabet's character for byte 0xE0).
  std::string Decode(const std::vector<int32_t> &ids, bool skip_special_tokens = false) const;

  // Id of an added token's content or of a vocabulary entry (in its byte-level form, e.g. "Ġworld"),
  // -1 when absent.
  int32_t TokenToId(std::string_view token) const;

  // The token of an id: an added token's content or a vocabulary entry in byte-level form.
  std::optional<std::string> IdToToken(int32_t id) const;

  // Id of the special added token `content` (e.g. "<|endofprompt|>").
  std::optional<int32_t> SpecialTokenId(std::string_view content) const;

  // Number of distinct tokens: vocabulary plus added tokens (Hugging Face's get_vocab_size(true)).
  size_t VocabSize() const;

  const std::vector<AddedToken> &added_tokens() const;

 private:
  struct Impl;
  explicit BpeTokenizer(BpeFiles files);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cosyvoice
