// src/text/added_tokens.cc
#include "text/added_tokens.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cosyvoice/error.h"
#include "text/unicode.h"
#include "text/utf8_codec.h"

namespace cosyvoice {
namespace {

using nlohmann::json;

bool EndsWithWordChar(std::string_view s) {
  if (s.empty()) return false;
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  size_t len = 0;
  return IsWordChar(DecodeUtf8At(s, i, &len));
}

bool StartsWithWordChar(std::string_view s) {
  size_t len = 0;
  return !s.empty() && IsWordChar(DecodeUtf8At(s, 0, &len));
}

// Byte offset where the trailing whitespace of `s` starts (s.size() when there is none).
size_t TrailingSpaceStart(std::string_view s) {
  size_t start = s.size();
  while (start > 0) {
    size_t i = start - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    size_t len = 0;
    if (!IsWhiteSpace(DecodeUtf8At(s, i, &len))) break;
    start = i;
  }
  return start;
}

// Byte length of the leading whitespace of `s`.
size_t LeadingSpaceEnd(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    if (!IsWhiteSpace(DecodeUtf8At(s, i, &len))) break;
    i += len;
  }
  return i;
}

}  // namespace

AddedToken AddedTokenFromJson(const json &j, const std::string &where) {
  if (!j.is_object())
    throw Error(ErrorCode::kBundle, where + ": expected an object {\"id\", \"content\", ...}");
  AddedToken t;
  bool has_normalized = false;
  for (const auto &item : j.items()) {
    // named references, not a structured binding: lambdas may not capture those before C++20 (clang)
    const std::string &key = item.key();
    const json &value = item.value();
    auto flag = [&](bool *out) {
      if (!value.is_boolean())
        throw Error(ErrorCode::kBundle, where + ": field " + key + ": expected true or false");
      *out = value.get<bool>();
    };
    if (key == "id") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > std::numeric_limits<int32_t>::max())
        throw Error(ErrorCode::kBundle, where + ": field id: expected a non-negative 32-bit integer");
      t.id = static_cast<int32_t>(value.get<int64_t>());
    } else if (key == "content") {
      if (!value.is_string() || value.get_ref<const std::string &>().empty())
        throw Error(ErrorCode::kBundle, where + ": field content: expected a non-empty string");
      t.content = value.get<std::string>();
    } else if (key == "special") {
      flag(&t.special);
    } else if (key == "normalized") {
      flag(&t.normalized);
      has_normalized = true;
    } else if (key == "lstrip") {
      flag(&t.lstrip);
    } else if (key == "rstrip") {
      flag(&t.rstrip);
    } else if (key == "single_word") {
      flag(&t.single_word);
    } else {
      throw Error(ErrorCode::kBundle, where + ": unknown field '" + key + "'");
    }
  }
  if (t.id < 0) throw Error(ErrorCode::kBundle, where + ": field id is missing");
  if (t.content.empty()) throw Error(ErrorCode::kBundle, where + ": field content is missing");
  if (!has_normalized) t.normalized = !t.special;
  return t;
}

std::vector<AddedToken> LoadAddedTokens(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kBundle, path.string() + ": added-tokens file not found or unreadable");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception &e) {
    throw Error(ErrorCode::kBundle, path.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_array())
    throw Error(ErrorCode::kBundle,
                path.string() + ": expected a JSON array of {\"id\", \"content\", \"special\"}");
  std::vector<AddedToken> tokens;
  tokens.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i)
    tokens.push_back(AddedTokenFromJson(j[i], path.string() + ": [" + std::to_string(i) + "]"));
  return tokens;
}

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  trie_.emplace_back();
  for (size_t t = 0; t < tokens_.size(); ++t) {
    if (tokens_[t].content.empty()) continue;  // would match everywhere; loaders refuse it
    int32_t node = 0;
    starts_token_[static_cast<unsigned char>(tokens_[t].content[0])] = true;
    for (char ch : tokens_[t].content) {
      const auto byte = static_cast<unsigned char>(ch);
      int32_t next = Child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(trie_.size());
        auto &children = trie_[static_cast<size_t>(node)].children;
        children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{0})),
                        {byte, next});
        trie_.emplace_back();  // after the insert: `children` may dangle once trie_ grows
      }
      node = next;
    }
    trie_[static_cast<size_t>(node)].token = static_cast<int32_t>(t);
  }
}

int32_t AddedTokenMatcher::Child(int32_t node, unsigned char byte) const {
  const auto &children = trie_[static_cast<size_t>(node)].children;
  auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{0}));
  return it != children.end() && it->first == byte ? it->second : -1;
}

int32_t AddedTokenMatcher::LongestAt(std::string_view text, size_t i, size_t *len) const {
  int32_t node = 0, found = -1;
  for (size_t k = i; k < text.size(); ++k) {
    node = Child(node, static_cast<unsigned char>(text[k]));
    if (node < 0) break;
    if (trie_[static_cast<size_t>(node)].token >= 0) {
      found = trie_[static_cast<size_t>(node)].token;
      *len = k + 1 - i;
    }
  }
  return found;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<Segment> *segments) const {
  size_t offset = 0;  // end of what is already segmented
  if (!tokens_.empty()) {
    size_t i = 0;
    while (i < text.size()) {
      // Patterns are valid UTF-8, so a byte-wise match always sits on character boundaries.
      if (!starts_token_[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      size_t len = 0;
      const int32_t t = LongestAt(text, i, &len);
      if (t < 0) {
        ++i;
        continue;
      }
      // As in tokenizers: the scan resumes after the occurrence even when the flags discard it.
      size_t start = i, stop = i + len;
      i = stop;
      const AddedToken &token = tokens_[static_cast<size_t>(t)];
      if (token.single_word &&
          (EndsWithWordChar(text.substr(0, start)) || StartsWithWordChar(text.substr(stop))))
        continue;
      if (token.lstrip) start = std::max(TrailingSpaceStart(text.substr(0, start)), offset);
      if (token.rstrip) stop += LeadingSpaceEnd(text.substr(stop));
      if (offset < start) segments->push_back({offset, start, -1});
      segments->push_back({start, stop, token.id});
      offset = stop;
    }
  }
  if (offset < text.size()) segments->push_back({offset, text.size(), -1});
}

}  // namespace cosyvoice
