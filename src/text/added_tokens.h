// src/text/added_tokens.h - tokens added on top of a BPE vocabulary, and how text is split on them.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cosyvoice {

// One added token with Hugging Face's flags (tokenizers' AddedToken).
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;      // dropped by Decode(..., skip_special_tokens=true)
  bool normalized = true;    // matched in NFC text (true) or in the raw input (false)
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // swallows the whitespace on its right
  bool single_word = false;  // only matches when not inside a word
};

// Parses one token object {"id", "content", "special"?, "normalized"?, "lstrip"?, "rstrip"?,
// "single_word"?}. Missing flags default as in Hugging Face: normalized = !special, the rest false.
// Unknown keys are errors. `where` prefixes error messages, e.g. "tokenizer/added_tokens.json: [3]".
AddedToken AddedTokenFromJson(const nlohmann::json &j, const std::string &where);

// Reads a JSON array of token objects (the bundle's tokenizer/added_tokens.json). Throws
// Error(kBundle, "<path>: ...") when the file is missing, unparsable or malformed.
std::vector<AddedToken> LoadAddedTokens(const std::filesystem::path &path);

// Hugging Face's AddedVocabulary::find_matches: the leftmost-longest non-overlapping occurrences of a
// set of tokens, then single_word / lstrip / rstrip applied to each occurrence.
class AddedTokenMatcher {
 public:
  struct Segment {
    size_t begin = 0, end = 0;  // byte range in the input
    int32_t id = -1;            // the token, or -1 for text between tokens
  };

  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  bool empty() const { return tokens_.empty(); }

  // Splits well-formed UTF-8 `text` into token and text segments, in order. Text segments are never
  // empty; an input without tokens gives one text segment (none when `text` is empty).
  void Split(std::string_view text, std::vector<Segment> *segments) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                       // index into tokens_
  };
  int32_t Child(int32_t node, unsigned char byte) const;
  // Index of the longest token starting at text[i] and its length, or -1.
  int32_t LongestAt(std::string_view text, size_t i, size_t *len) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> trie_;
  std::array<bool, 256> starts_token_{};  // first bytes of the tokens: most text bytes skip the trie
};

}  // namespace cosyvoice
