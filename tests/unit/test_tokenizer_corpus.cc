// tests/unit/test_tokenizer_corpus.cc - the tokenizer on the real Qwen2 vocabulary and the corpus
// (files written at test time by the tokenizer_assets / tokenizer_corpus CTest fixtures).
#include <algorithm>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "text/bpe_tokenizer.h"
#include "text/cosyvoice3_tokens.h"
#include "text/unicode.h"

namespace cosyvoice {
namespace {

namespace fs = std::filesystem;

fs::path Dir() {
  return testing::TestData() / "tokenizer";
}

const BpeTokenizer &Bundle() {
  static const BpeTokenizer tok =
      BpeTokenizer::FromFiles(Dir() / "bundle/tokenizer/vocab.json", Dir() / "bundle/tokenizer/merges.txt",
                              Dir() / "bundle/tokenizer/added_tokens.json");
  return tok;
}

std::vector<std::string> CorpusTexts() {
  std::ifstream in(Dir() / "corpus.json", std::ios::binary);
  if (!in) throw std::runtime_error("corpus.json missing: the tokenizer_corpus fixture writes it");
  return nlohmann::json::parse(in).at("texts").get<std::vector<std::string>>();
}

bool HasAddedToken(const std::vector<int32_t> &ids) {
  return std::any_of(ids.begin(), ids.end(), [](int32_t id) { return id >= kQwen2VocabSize; });
}

TEST(TokenizerCorpus, DecodeOfEncodeIsTheNfcText) {
  size_t checked = 0;
  for (const std::string &text : CorpusTexts()) {
    const std::vector<int32_t> ids = Bundle().Encode(text);
    // Around added tokens NFC applies to each side separately, and pinyin tokens decode lossily.
    if (HasAddedToken(ids)) continue;
    EXPECT_EQ(Bundle().Decode(ids), NfcNormalize(text)) << nlohmann::json(text).dump();
    ++checked;
  }
  EXPECT_GE(checked, 2000u);
}

TEST(TokenizerCorpus, RealVocabularyAndCosyVoice3Tokens) {
  const BpeTokenizer &tok = Bundle();
  EXPECT_EQ(tok.VocabSize(), static_cast<size_t>(kLastAddedTokenId) + 1);
  EXPECT_EQ(tok.SpecialTokenId("<|endofprompt|>"), kEndOfPromptId);
  EXPECT_EQ(tok.SpecialTokenId("<|endoftext|>"), kEndOfTextId);
  EXPECT_EQ(tok.TokenToId("[\u01DC]"), kLastAddedTokenId);
  EXPECT_EQ(tok.Encode("<|endofprompt|>"), std::vector<int32_t>{kEndOfPromptId});
  const int32_t breath = tok.TokenToId("[breath]");
  EXPECT_EQ(breath, 151647);
  const auto ids = tok.Encode("[breath]\u4F60\u597D[breath]");
  EXPECT_EQ(ids.front(), breath);
  EXPECT_EQ(ids.back(), breath);
  EXPECT_FALSE(HasAddedToken(tok.Encode("[breath < strong> [AA3] <|endofprompt|")));
  // Tags are matched in the raw text: a decomposed tone mark is not the pinyin token.
  EXPECT_EQ(tok.Encode("[j][\u01D0]"),
            (std::vector<int32_t>{tok.TokenToId("[j]"), tok.TokenToId("[\u01D0]")}));
  const auto nfd = tok.Encode("[j][i\u030C]");
  EXPECT_EQ(std::count_if(nfd.begin(), nfd.end(), [](int32_t id) { return id >= kQwen2VocabSize; }), 1);
}

TEST(TokenizerCorpus, TokenizerJsonGivesTheCppListsIds) {
  // tokenizers numbers added tokens by file order; the list's ids must be what it gives them.
  const BpeTokenizer tok = BpeTokenizer::FromTokenizerJson(Dir() / "cosyvoice3/tokenizer.json");
  const auto expected = CosyVoice3AddedTokens();
  ASSERT_EQ(tok.added_tokens().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(tok.added_tokens()[i].id, expected[i].id);
    EXPECT_EQ(tok.added_tokens()[i].content, expected[i].content);
  }
  const auto from_file = LoadAddedTokens(Dir() / "bundle/tokenizer/added_tokens.json");
  ASSERT_EQ(from_file.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(from_file[i].id, expected[i].id);
    EXPECT_EQ(from_file[i].content, expected[i].content);
    EXPECT_EQ(from_file[i].special, expected[i].special);
    EXPECT_EQ(from_file[i].normalized, expected[i].normalized);
  }
}

TEST(TokenizerCorpus, ConcurrentEncodingAgreesWithSerial) {
  const auto texts = CorpusTexts();
  std::vector<std::vector<int32_t>> serial;
  for (const auto &t : texts) serial.push_back(Bundle().Encode(t));
  const BpeTokenizer fresh = BpeTokenizer::FromTokenizerJson(Dir() / "cosyvoice3/tokenizer.json");
  std::vector<size_t> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < mismatches.size(); ++k) {
    threads.emplace_back([&, k] {
      for (size_t i = k; i < texts.size() + k; ++i) {  // each thread starts elsewhere, all share the cache
        const size_t j = i % texts.size();
        if (fresh.Encode(texts[j]) != serial[j]) ++mismatches[k];
      }
    });
  }
  for (auto &t : threads) t.join();
  for (size_t m : mismatches) EXPECT_EQ(m, 0u);
}

}  // namespace
}  // namespace cosyvoice
