// tests/unit/test_bpe_tokenizer.cc - BPE, added tokens, decoding and loading on toy vocabularies.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "text/bpe_tokenizer.h"
#include "text/byte_level.h"
#include "text/cosyvoice3_tokens.h"
#include "text/pretokenizer.h"

namespace cosyvoice {
namespace {

using testing::TempDir;
using Strings = std::vector<std::string>;
using Merges = std::vector<std::pair<std::string, std::string>>;

// Every byte as its own token (id = byte value), plus the result of each merge.
std::unordered_map<std::string, int32_t> ToyVocab(const Merges &merges) {
  std::unordered_map<std::string, int32_t> vocab;
  for (int b = 0; b < 256; ++b) vocab[BytesToVocabString(std::string(1, static_cast<char>(b)))] = b;
  int32_t next = 256;
  for (const auto &[a, b] : merges)
    if (!vocab.count(a + b)) vocab[a + b] = next++;
  return vocab;
}

AddedToken Added(int32_t id, std::string content, bool special = true, bool normalized = false) {
  AddedToken t;
  t.id = id;
  t.content = std::move(content);
  t.special = special;
  t.normalized = normalized;
  return t;
}

BpeTokenizer Toy(const Merges &merges, std::vector<AddedToken> added = {}) {
  return BpeTokenizer(ToyVocab(merges), merges, std::move(added));
}

Strings Tokens(const BpeTokenizer &tok, const std::string &text) {
  Strings out;
  for (int32_t id : tok.Encode(text)) out.push_back(tok.IdToToken(id).value_or("?"));
  return out;
}

void WriteFile(const std::filesystem::path &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(ByteLevel, MapsEveryByteAndBack) {
  EXPECT_EQ(ByteToChar(' '), U'\u0120');   // 'Ġ'
  EXPECT_EQ(ByteToChar('\n'), U'\u010A');  // 'Ċ'
  EXPECT_EQ(ByteToChar('a'), U'a');
  EXPECT_EQ(ByteToChar(0xE9), U'\u00E9');  // printable Latin-1 stands for itself
  EXPECT_EQ(ByteToChar(0xAD), U'\u0143');  // the soft hyphen is the last remapped byte
  std::string all;
  for (int b = 0; b < 256; ++b) {
    all.push_back(static_cast<char>(b));
    EXPECT_EQ(CharToByte(ByteToChar(static_cast<uint8_t>(b))), b);
  }
  std::string back;
  ASSERT_TRUE(VocabStringToBytes(BytesToVocabString(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(BytesToVocabString(" world"), "\u0120world");
  EXPECT_FALSE(VocabStringToBytes("[\u01DC]", &back));  // 'ǜ' is outside the alphabet
  EXPECT_EQ(CharToByte(U'\u0144'), -1);
}

TEST(Bpe, LowestRankMergesFirst) {
  EXPECT_EQ(Tokens(Toy({{"b", "c"}, {"a", "b"}}), "abc"), (Strings{"a", "bc"}));
  EXPECT_EQ(Tokens(Toy({{"a", "b"}, {"b", "c"}}), "abc"), (Strings{"ab", "c"}));
  EXPECT_EQ(Tokens(Toy({{"b", "c"}, {"a", "b"}, {"a", "bc"}}), "abc"), (Strings{"abc"}));
  // "ab c" would need "ab", which the better-ranked "b c" prevents.
  EXPECT_EQ(Tokens(Toy({{"b", "c"}, {"a", "b"}, {"ab", "c"}}), "abc"), (Strings{"a", "bc"}));
}

TEST(Bpe, LeftmostPairWinsTies) {
  const BpeTokenizer tok = Toy({{"a", "a"}, {"aa", "aa"}});
  EXPECT_EQ(Tokens(tok, "aaa"), (Strings{"aa", "a"}));
  EXPECT_EQ(Tokens(tok, "aaaa"), (Strings{"aaaa"}));
  EXPECT_EQ(Tokens(tok, "aaaaa"), (Strings{"aaaa", "a"}));
  EXPECT_EQ(Tokens(tok, "aaaaa"), (Strings{"aaaa", "a"}));  // again, from the cache
}

TEST(Bpe, WorksOnBytesOfPreTokenizedWords) {
  const BpeTokenizer tok = Toy({{"\u0120", "w"}, {"\u0120w", "o"}, {"\xC3\xA4", "\xC2\xBD"}});
  // " wo\u4F60" is one pre-token (letters), so its space merges with it; U+4F60 is E4 BD A0, and
  // A0 is written U+0142.
  EXPECT_EQ(Tokens(tok, "a wo\u4F60"), (Strings{"a", "\u0120wo", "\xC3\xA4\xC2\xBD", "\u0142"}));
}

TEST(Bpe, BytesWithoutATokenAreDropped) {
  auto vocab = ToyVocab({});
  vocab.erase("x");
  const BpeTokenizer tok(vocab, {}, {});
  EXPECT_EQ(tok.Encode("axb"), (std::vector<int32_t>{'a', 'b'}));  // tokenizers without unk does so
}

TEST(AddedTokens, LongestMatchAtTheLeftmostPosition) {
  const BpeTokenizer tok = Toy(
      {}, {Added(1000, "<a>"), Added(1001, "<a>b"), Added(1002, "<<"), Added(1003, "ab"), Added(1004, "bc")});
  EXPECT_EQ(tok.Encode("x<a>by"), (std::vector<int32_t>{'x', 1001, 'y'}));
  EXPECT_EQ(tok.Encode("<a>"), (std::vector<int32_t>{1000}));
  EXPECT_EQ(tok.Encode("<<a>"), (std::vector<int32_t>{1002, 'a', '>'}));  // leftmost beats longer
  EXPECT_EQ(tok.Encode("abc"), (std::vector<int32_t>{1003, 'c'}));        // "ab" starts first
  EXPECT_EQ(tok.Encode("<a"), (std::vector<int32_t>{'<', 'a'}));
}

TEST(AddedTokens, RawTokensSplitBeforeNormalizationNormalizedOnesAfter) {
  const std::string e_acute = "\u00E9", e_combining = "e\u0301";
  const BpeTokenizer raw = Toy({}, {Added(1000, "[" + e_acute + "]", true, /*normalized=*/false)});
  EXPECT_EQ(raw.Encode("[" + e_acute + "]"), (std::vector<int32_t>{1000}));
  EXPECT_NE(raw.Encode("[" + e_combining + "]"), (std::vector<int32_t>{1000}));  // raw text differs
  const BpeTokenizer normalized = Toy({}, {Added(1000, "[" + e_combining + "]", false, /*normalized=*/true)});
  EXPECT_EQ(normalized.Encode("[" + e_acute + "]"), (std::vector<int32_t>{1000}));
  EXPECT_EQ(normalized.Encode("[" + e_combining + "]"), (std::vector<int32_t>{1000}));
  EXPECT_EQ(normalized.IdToToken(1000), "[" + e_acute + "]");  // decodes to its NFC form
}

TEST(AddedTokens, StripAndSingleWordFlags) {
  AddedToken ls = Added(1000, "<ls>"), rs = Added(1001, "<rs>"), sw = Added(1002, "[sw]");
  ls.lstrip = true;
  rs.rstrip = true;
  sw.single_word = true;
  const BpeTokenizer tok = Toy({}, {ls, rs, sw});
  EXPECT_EQ(Tokens(tok, "a  <ls>b"), (Strings{"a", "<ls>", "b"}));
  EXPECT_EQ(Tokens(tok, "a<rs> \n b"), (Strings{"a", "<rs>", "b"}));
  EXPECT_EQ(Tokens(tok, "a <rs> <ls>b"), (Strings{"a", "\u0120", "<rs>", "<ls>", "b"}));
  EXPECT_EQ(tok.Encode("([sw])"), (std::vector<int32_t>{'(', 1002, ')'}));
  for (const char *inside : {"x[sw]", "[sw]x", "1[sw]", "_[sw]", "\u00E9[sw]"}) {
    const auto ids = tok.Encode(inside);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1002), 0) << inside;
  }
}

TEST(Tokenizer, DecodeJoinsBytesAndReplacesInvalidUtf8) {
  const BpeTokenizer tok = Toy({{"\u0120", "w"}}, {Added(1000, "<s>"), Added(1001, "[\u00E0]"),
                                                   Added(1002, "plain", /*special=*/false)});
  EXPECT_EQ(tok.Decode(tok.Encode("a w<s>")), "a w<s>");
  EXPECT_EQ(tok.Decode(tok.Encode("a w<s>"), /*skip_special_tokens=*/true), "a w");
  EXPECT_EQ(tok.Decode({'a', 99999, 'b'}), "ab");       // unknown ids are dropped
  EXPECT_EQ(tok.Decode({0xE4, 0xBD}), "\uFFFD");        // a cut character
  EXPECT_EQ(tok.Decode({0xE4, 0xBD, 0xA0}), "\u4F60");  // ids are the byte values here
  EXPECT_EQ(tok.Decode({1001}), "[\uFFFD]");            // Hugging Face's byte-level quirk
  EXPECT_EQ(tok.Decode({1002}, /*skip_special_tokens=*/true), "plain");
}

TEST(Tokenizer, LookupsAndVocabSize) {
  const BpeTokenizer tok = Toy({{"a", "b"}}, {Added(1000, "<s>"), Added(1001, "<t>", /*special=*/false)});
  EXPECT_EQ(tok.VocabSize(), 256u + 1 + 2);
  EXPECT_EQ(tok.TokenToId("ab"), 256);
  EXPECT_EQ(tok.TokenToId("<s>"), 1000);
  EXPECT_EQ(tok.TokenToId("\u0120"), ' ');
  EXPECT_EQ(tok.TokenToId("nope"), -1);
  EXPECT_EQ(tok.SpecialTokenId("<s>"), 1000);
  EXPECT_EQ(tok.SpecialTokenId("<t>"), std::nullopt);  // added, but not special
  EXPECT_EQ(tok.IdToToken(1001), "<t>");
  EXPECT_EQ(tok.IdToToken(5000), std::nullopt);
}

TEST(Tokenizer, EmptyTextGivesNoIds) {
  EXPECT_TRUE(Toy({}).Encode("").empty());
}

TEST(Tokenizer, RefusesAnEmptyAddedToken) {
  EXPECT_COSY_ERROR(Toy({}, {Added(1000, "")}), ErrorCode::kBundle,
                    "<memory>: an added token has empty content");
}

TEST(Tokenizer, RejectsInvalidUtf8WithItsByteOffset) {
  const BpeTokenizer tok = Toy({});
  EXPECT_COSY_ERROR(tok.Encode("ab\xFF"), ErrorCode::kInvalidArgument,
                    "text: invalid UTF-8 at byte offset 2 (0xFF)");
  EXPECT_COSY_ERROR(tok.Encode("\xC3"), ErrorCode::kInvalidArgument, "byte offset 0");
  EXPECT_COSY_ERROR(tok.Encode("a\xED\xA0\x80"), ErrorCode::kInvalidArgument,
                    "byte offset 1");                                                       // a surrogate
  EXPECT_COSY_ERROR(tok.Encode("\xC0\xAF"), ErrorCode::kInvalidArgument, "byte offset 0");  // overlong
}

TEST(CosyVoice3Tokens, IdsAndAnchors) {
  const auto tokens = CosyVoice3AddedTokens();
  ASSERT_EQ(tokens.size(), 281u);
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(tokens[i].id, kEndOfTextId + static_cast<int32_t>(i));
    EXPECT_TRUE(tokens[i].special);
    EXPECT_FALSE(tokens[i].normalized || tokens[i].lstrip || tokens[i].rstrip || tokens[i].single_word);
  }
  auto content = [&](int32_t id) { return tokens[static_cast<size_t>(id - kEndOfTextId)].content; };
  EXPECT_EQ(content(151643), "<|endoftext|>");
  EXPECT_EQ(content(151645), "<|im_end|>");
  EXPECT_EQ(content(kEndOfPromptId), "<|endofprompt|>");
  EXPECT_EQ(content(151647), "[breath]");
  EXPECT_EQ(content(151662), "[mn]");
  EXPECT_EQ(content(kEndOfSystemId), "<|endofsystem|>");
  EXPECT_EQ(content(151664), "[AA]");
  EXPECT_EQ(content(151747), "[ZH]");
  EXPECT_EQ(content(151748), "[a]");
  EXPECT_EQ(content(kLastAddedTokenId), "[\u01DC]");
}

// ---- loading and its errors ---------------------------------------------------------------------

class TokenizerFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "vocab.json", R"({"a": 0, "b": 1, "ab": 2, "\u0120": 3})");
    WriteFile(dir_ / "merges.txt", "#version: 0.2\na b\n");
    WriteFile(dir_ / "added.json", R"([{"id": 4, "content": "<s>", "special": true}])");
  }
  BpeTokenizer Load() {
    return BpeTokenizer::FromFiles(dir_ / "vocab.json", dir_ / "merges.txt", dir_ / "added.json");
  }
  TempDir dir_;
};

TEST_F(TokenizerFiles, LoadsTheBundleLayout) {
  const BpeTokenizer tok = Load();
  EXPECT_EQ(tok.Encode("ab<s> a"), (std::vector<int32_t>{2, 4, 3, 0}));
  EXPECT_EQ(tok.VocabSize(), 5u);
  ASSERT_EQ(tok.added_tokens().size(), 1u);
  EXPECT_FALSE(tok.added_tokens()[0].normalized);  // defaults to !special
}

TEST_F(TokenizerFiles, MissingFilesNameThePath) {
  std::filesystem::remove(dir_ / "merges.txt");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, (dir_ / "merges.txt").string() + ": merges file not found");
  std::filesystem::remove(dir_ / "vocab.json");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "vocab.json: vocabulary file not found");
}

TEST_F(TokenizerFiles, CorruptVocabulary) {
  WriteFile(dir_ / "vocab.json", R"({"a": 0, "b": )");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "vocab.json: not valid JSON");
  WriteFile(dir_ / "vocab.json", R"(["a", "b"])");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "vocab.json: expected a JSON object {token: id}");
  WriteFile(dir_ / "vocab.json", R"({"a": 0, "b": -1})");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "token 'b': expected a non-negative 32-bit integer id");
  WriteFile(dir_ / "vocab.json", R"({"a": 0, "b": 0})");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "id 0 is used by both");
}

TEST_F(TokenizerFiles, MergeWithAnUnknownTokenNamesTheLine) {
  WriteFile(dir_ / "merges.txt", "#version: 0.2\na b\nb c\n");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle,
                    "merges.txt: line 3: 'b c': token 'c' is not in the vocabulary");
  WriteFile(dir_ / "merges.txt", "#version: 0.2\nb a\n");  // "ba" is not in the vocabulary
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "line 2: 'b a': token 'ba' is not in the vocabulary");
  WriteFile(dir_ / "merges.txt", "a b\n\nb a\n");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle,
                    "merges.txt: line 2: expected two tokens separated by one space");
}

TEST_F(TokenizerFiles, CorruptAddedTokens) {
  WriteFile(dir_ / "added.json", "{}");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "added.json: expected a JSON array");
  WriteFile(dir_ / "added.json", R"([{"id": 4, "content": "<s>", "colour": "red"}])");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "added.json: [0]: unknown field 'colour'");
  WriteFile(dir_ / "added.json", R"([{"content": "<s>"}])");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "field id is missing");
  WriteFile(dir_ / "added.json", R"([{"id": 4, "content": "<s>"}, {"id": 5, "content": "<s>"}])");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "added token '<s>' is listed twice");
  WriteFile(dir_ / "added.json", R"([{"id": 1, "content": "<s>"}])");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "has id 1, which is the vocabulary's 'b'");
  WriteFile(dir_ / "added.json", R"([{"id": 7, "content": "ab", "special": "yes"}])");
  EXPECT_COSY_ERROR(Load(), ErrorCode::kBundle, "field special: expected true or false");
}

TEST_F(TokenizerFiles, TokenizerJsonOfAnotherPipelineIsUnsupported) {
  const std::string qwen2_pre =
      R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": PATTERN},
         "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false,
         "trim_offsets": false, "use_regex": false}]})";
  std::string pre = qwen2_pre;
  pre.replace(pre.find("PATTERN"), 7, nlohmann::json(std::string(kQwen2SplitPattern)).dump());
  auto write = [&](const std::string &normalizer, const std::string &pre_tokenizer) {
    WriteFile(dir_ / "tokenizer.json",
              R"({"version": "1.0", "truncation": null, "padding": null, "added_tokens": [
                  {"id": 4, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
                   "normalized": false, "special": true}],
                  "normalizer": )" +
                  normalizer + R"(, "pre_tokenizer": )" + pre_tokenizer + R"(, "post_processor": null,
                  "decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "byte_fallback": false, "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3}, "merges": [["a", "b"]]}})");
  };
  write(R"({"type": "NFC"})", pre);
  EXPECT_EQ(BpeTokenizer::FromTokenizerJson(dir_ / "tokenizer.json").Encode("ab<s>"),
            (std::vector<int32_t>{2, 4}));
  write(R"({"type": "NFKC"})", pre);
  EXPECT_COSY_ERROR(BpeTokenizer::FromTokenizerJson(dir_ / "tokenizer.json"), ErrorCode::kUnsupported,
                    "field normalizer: expected {\"type\": \"NFC\"}");
  write(R"({"type": "NFC"})", R"({"type": "Whitespace"})");
  EXPECT_COSY_ERROR(BpeTokenizer::FromTokenizerJson(dir_ / "tokenizer.json"), ErrorCode::kUnsupported,
                    "field pre_tokenizer");
  EXPECT_COSY_ERROR(BpeTokenizer::FromTokenizerJson(dir_ / "nope.json"), ErrorCode::kBundle,
                    "nope.json: tokenizer file not found");
}

}  // namespace
}  // namespace cosyvoice
