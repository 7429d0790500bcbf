// src/text/bpe_tokenizer.cc
#include "text/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <queue>
#include <unordered_set>

#include "common/log.h"
#include "cosyvoice/error.h"
#include "text/byte_level.h"
#include "text/pretokenizer.h"
#include "text/tokenizer_files.h"
#include "text/unicode.h"
#include "text/utf8_codec.h"

namespace cosyvoice {
namespace {

// Words up to this many bytes are cached; the cache stops growing at kCacheCapacity entries.
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kCacheCapacity = 32768;

uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct Merge {
  int32_t rank;
  int32_t new_id;
};

// Open-addressing map from a pair of ids to its merge: the BPE inner loop does one lookup per
// adjacent pair, and std::unordered_map's node chasing dominated it.
class MergeTable {
 public:
  void Reserve(size_t n) {
    size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    slots_.assign(capacity, Slot{kEmpty, {0, 0}});
    mask_ = capacity - 1;
  }
  // Inserts or overwrites (a repeated pair keeps its last rank, as in tokenizers).
  void Set(uint64_t key, Merge merge) {
    size_t i = Hash(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    slots_[i] = {key, merge};
  }
  const Merge *Find(uint64_t key) const {
    for (size_t i = Hash(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].merge;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are non-negative int32: never a key
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  size_t Hash(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace

struct BpeTokenizer::Impl {
  std::unordered_map<std::string, int32_t> vocab;      // byte-level token -> id
  std::unordered_map<int32_t, std::string> vocab_r;    // id -> byte-level token
  std::array<int32_t, 256> byte_ids{};                 // id of each single-byte token, -1 if absent
  MergeTable merges;                                   // (left id, right id) -> rank, merged id
  std::vector<AddedToken> added;                       // id order
  std::unordered_map<std::string, int32_t> added_ids;  // content -> id
  std::unordered_map<int32_t, std::string> added_r;    // id -> content as decoded (NFC if normalized)
  std::unordered_set<std::string> special_contents;
  AddedTokenMatcher raw_matcher;         // normalized=false tokens, matched before NFC
  AddedTokenMatcher normalized_matcher;  // normalized=true tokens, matched in NFC text
  size_t vocab_size = 0;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  void EncodeGap(std::string_view gap, std::vector<int32_t> *ids) const;
  void EncodeNormalized(std::string_view text, std::vector<int32_t> *ids) const;
  void EncodeWord(std::string_view word, std::vector<int32_t> *ids) const;
  void MergeWord(std::string_view word, std::vector<int32_t> *ids) const;
};

BpeTokenizer::BpeTokenizer(BpeTokenizer &&) noexcept = default;
BpeTokenizer &BpeTokenizer::operator=(BpeTokenizer &&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer::BpeTokenizer(std::unordered_map<std::string, int32_t> vocab,
                           const std::vector<std::pair<std::string, std::string>> &merges,
                           std::vector<AddedToken> added_tokens, const std::string &source)
    : BpeTokenizer([&] {
        BpeFiles files{source, std::move(vocab), merges, {}, std::move(added_tokens)};
        for (size_t i = 0; i < merges.size(); ++i)
          files.merge_origins.push_back("merge " + std::to_string(i + 1));
        return files;
      }()) {}

BpeTokenizer::BpeTokenizer(BpeFiles files) : impl_(std::make_unique<Impl>()) {
  const std::string &source = files.source;
  const auto &merges = files.merges;
  auto &added_tokens = files.added_tokens;
  Impl &m = *impl_;
  m.vocab = std::move(files.vocab);
  m.vocab_r.reserve(m.vocab.size());
  for (const auto &[token, id] : m.vocab) {
    CheckUtf8(token, source + ": vocabulary token");
    auto [it, fresh] = m.vocab_r.emplace(id, token);
    if (!fresh)
      throw Error(ErrorCode::kBundle, source + ": id " + std::to_string(id) + " is used by both '" +
                                          it->second + "' and '" + token + "'");
  }
  for (int b = 0; b < 256; ++b) {
    std::string one;
    AppendUtf8(ByteToChar(static_cast<uint8_t>(b)), &one);
    auto it = m.vocab.find(one);
    m.byte_ids[static_cast<size_t>(b)] = it == m.vocab.end() ? -1 : it->second;
  }

  auto origin = [&](size_t rank) {
    return rank < files.merge_origins.size() ? files.merge_origins[rank]
                                             : "merge " + std::to_string(rank + 1);
  };
  m.merges.Reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string &a = merges[rank].first;  // not a structured binding: captured below (clang)
    const std::string &b = merges[rank].second;
    auto id_of = [&](const std::string &token) {
      auto it = m.vocab.find(token);
      if (it == m.vocab.end())
        throw Error(ErrorCode::kBundle, source + ": " + origin(rank) + ": '" + a + " " + b + "': token '" +
                                            token + "' is not in the vocabulary");
      return it->second;
    };
    const int32_t ia = id_of(a), ib = id_of(b), merged = id_of(a + b);
    m.merges.Set(PairKey(ia, ib), Merge{static_cast<int32_t>(rank), merged});
  }

  std::sort(added_tokens.begin(), added_tokens.end(),
            [](const AddedToken &x, const AddedToken &y) { return x.id < y.id; });
  std::vector<AddedToken> raw, normalized;
  m.vocab_size = m.vocab.size();
  for (auto &t : added_tokens) {
    if (t.content.empty()) throw Error(ErrorCode::kBundle, source + ": an added token has empty content");
    CheckUtf8(t.content, source + ": added token");
    if (t.id < 0) throw Error(ErrorCode::kBundle, source + ": added token '" + t.content + "': negative id");
    // An added token may repeat a vocabulary entry (it then only changes how text is split) but must
    // keep its id, and must not take the id of another entry.
    if (auto it = m.vocab.find(t.content); it != m.vocab.end() && it->second != t.id)
      throw Error(ErrorCode::kBundle, source + ": added token '" + t.content + "' has id " +
                                          std::to_string(t.id) + " but the vocabulary gives it " +
                                          std::to_string(it->second));
    if (auto it = m.vocab_r.find(t.id); it != m.vocab_r.end() && it->second != t.content)
      throw Error(ErrorCode::kBundle, source + ": added token '" + t.content + "' has id " +
                                          std::to_string(t.id) + ", which is the vocabulary's '" +
                                          it->second + "'");
    if (!m.added_ids.emplace(t.content, t.id).second)
      throw Error(ErrorCode::kBundle, source + ": added token '" + t.content + "' is listed twice");
    std::string decoded = t.normalized ? NfcNormalize(t.content) : t.content;
    if (!m.added_r.emplace(t.id, decoded).second)
      throw Error(ErrorCode::kBundle,
                  source + ": id " + std::to_string(t.id) + " is used by two added tokens");
    if (t.special) m.special_contents.insert(t.content);
    if (m.vocab.count(t.content) == 0) ++m.vocab_size;
    if (t.normalized) {
      AddedToken pattern = t;
      pattern.content = std::move(decoded);  // matched in NFC text, so in NFC form
      normalized.push_back(std::move(pattern));
    } else {
      raw.push_back(t);
    }
  }
  m.added = std::move(added_tokens);
  m.raw_matcher = AddedTokenMatcher(std::move(raw));
  m.normalized_matcher = AddedTokenMatcher(std::move(normalized));
}

BpeTokenizer BpeTokenizer::FromFiles(const std::filesystem::path &vocab_json,
                                     const std::filesystem::path &merges_txt,
                                     const std::filesystem::path &added_tokens_json) {
  BpeTokenizer tokenizer(ReadBpeFiles(vocab_json, merges_txt, added_tokens_json));
  COSY_LOG(kDebug) << "tokenizer: " << tokenizer.VocabSize() << " tokens from "
                   << vocab_json.parent_path().string();
  return tokenizer;
}

BpeTokenizer BpeTokenizer::FromTokenizerJson(const std::filesystem::path &path) {
  return BpeTokenizer(ReadTokenizerJson(path));
}

std::vector<int32_t> BpeTokenizer::Encode(std::string_view utf8) const {
  CheckUtf8(utf8, "text");
  std::vector<int32_t> ids;
  ids.reserve(utf8.size() / 3 + 4);
  std::vector<AddedTokenMatcher::Segment> segments;
  impl_->raw_matcher.Split(utf8, &segments);
  for (const auto &s : segments) {
    if (s.id >= 0)
      ids.push_back(s.id);
    else
      impl_->EncodeGap(utf8.substr(s.begin, s.end - s.begin), &ids);
  }
  return ids;
}

void BpeTokenizer::Impl::EncodeGap(std::string_view gap, std::vector<int32_t> *ids) const {
  std::string nfc_storage;
  std::string_view nfc = gap;
  if (!IsNfc(gap)) {
    nfc_storage = NfcNormalize(gap);
    nfc = nfc_storage;
  }
  if (normalized_matcher.empty()) {
    EncodeNormalized(nfc, ids);
    return;
  }
  std::vector<AddedTokenMatcher::Segment> segments;
  normalized_matcher.Split(nfc, &segments);
  for (const auto &s : segments) {
    if (s.id >= 0)
      ids->push_back(s.id);
    else
      EncodeNormalized(nfc.substr(s.begin, s.end - s.begin), ids);
  }
}

void BpeTokenizer::Impl::EncodeNormalized(std::string_view text, std::vector<int32_t> *ids) const {
  std::vector<std::string_view> words;
  PreTokenizeQwen2(text, &words);
  for (std::string_view w : words) EncodeWord(w, ids);
}

void BpeTokenizer::Impl::EncodeWord(std::string_view word, std::vector<int32_t> *ids) const {
  if (word.size() == 1) {  // digits, single punctuation: nothing to merge or cache
    const int32_t id = byte_ids[static_cast<uint8_t>(word[0])];
    if (id >= 0) ids->push_back(id);
    return;
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = ids->size();
  MergeWord(word, ids);
  if (cacheable) {
    std::vector<int32_t> value(ids->begin() + static_cast<std::ptrdiff_t>(first), ids->end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() < kCacheCapacity) cache.emplace(std::move(key), std::move(value));
  }
}

// tokenizers' Word::merge_all: a min-heap of (rank, position) over adjacent pairs; a popped entry
// whose pair has changed since it was pushed is stale and skipped.
void BpeTokenizer::Impl::MergeWord(std::string_view word, std::vector<int32_t> *ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  struct Candidate {
    int32_t rank, pos, new_id;
    bool operator>(const Candidate &o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (char ch : word) {
    // Bytes without a token are dropped, as tokenizers does when there is no unk token.
    const int32_t id = byte_ids[static_cast<uint8_t>(ch)];
    if (id < 0) continue;
    const auto n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, true});
  }
  if (symbols.size() == 1) {
    ids->push_back(symbols[0].id);
    return;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto find = [&](int32_t a, int32_t b) { return merges.Find(PairKey(a, b)); };
  for (size_t i = 0; i + 1 < symbols.size(); ++i)
    if (const Merge *mg = find(symbols[i].id, symbols[i + 1].id))
      queue.push({mg->rank, static_cast<int32_t>(i), mg->new_id});

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol &left = symbols[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol &right = symbols[static_cast<size_t>(left.next)];
    const Merge *current = find(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;  // stale
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = top.pos;
    if (left.prev >= 0)
      if (const Merge *mg = find(symbols[static_cast<size_t>(left.prev)].id, left.id))
        queue.push({mg->rank, left.prev, mg->new_id});
    if (left.next >= 0)
      if (const Merge *mg = find(left.id, symbols[static_cast<size_t>(left.next)].id))
        queue.push({mg->rank, top.pos, mg->new_id});
  }
  for (const Symbol &s : symbols)
    if (s.alive) ids->push_back(s.id);
}

std::string BpeTokenizer::Decode(const std::vector<int32_t> &ids, bool skip_special_tokens) const {
  std::string bytes, token_bytes;
  for (int32_t id : ids) {
    const std::string *token = nullptr;
    if (auto it = impl_->added_r.find(id); it != impl_->added_r.end())
      token = &it->second;
    else if (auto jt = impl_->vocab_r.find(id); jt != impl_->vocab_r.end())
      token = &jt->second;
    if (token == nullptr) continue;  // unknown ids are dropped, as tokenizers does
    if (skip_special_tokens && impl_->special_contents.count(*token)) continue;
    // The byte-level decoder maps a token through the alphabet when it can, else keeps its UTF-8.
    if (VocabStringToBytes(*token, &token_bytes))
      bytes += token_bytes;
    else
      bytes += *token;
  }
  return Utf8Lossy(bytes);
}

int32_t BpeTokenizer::TokenToId(std::string_view token) const {
  const std::string key(token);
  if (auto it = impl_->added_ids.find(key); it != impl_->added_ids.end()) return it->second;
  if (auto it = impl_->vocab.find(key); it != impl_->vocab.end()) return it->second;
  return -1;
}

std::optional<std::string> BpeTokenizer::IdToToken(int32_t id) const {
  if (auto it = impl_->added_r.find(id); it != impl_->added_r.end()) return it->second;
  if (auto it = impl_->vocab_r.find(id); it != impl_->vocab_r.end()) return it->second;
  return std::nullopt;
}

std::optional<int32_t> BpeTokenizer::SpecialTokenId(std::string_view content) const {
  const std::string key(content);
  if (!impl_->special_contents.count(key)) return std::nullopt;
  return impl_->added_ids.at(key);
}

size_t BpeTokenizer::VocabSize() const {
  return impl_->vocab_size;
}

const std::vector<AddedToken> &BpeTokenizer::added_tokens() const {
  return impl_->added;
}

}  // namespace cosyvoice
