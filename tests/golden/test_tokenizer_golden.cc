// tests/golden/test_tokenizer_golden.cc - the C++ tokenizer against Hugging Face tokenizers itself.
//
// Expected outputs come from tests/tools/hf_tokenize.js (the official Node binding) on the corpus of
// tests/tools/make_tokenizer_corpus.py, both run by CTest fixtures before this test. Reports the match
// rate and the first mismatches with the text, both id lists and their tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "text/bpe_tokenizer.h"

namespace cosyvoice {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxReported = 8;

json ReadJson(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": missing (the CTest fixtures write it)");
  return json::parse(in);
}

// A string as a JSON literal, cut to `limit` bytes, so that whitespace and controls are visible.
std::string Quote(const std::string &s, size_t limit = 300) {
  std::string cut = s.size() > limit ? s.substr(0, limit) : s;
  std::string shown = json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > limit ? shown + "... (" + std::to_string(s.size()) + " bytes)" : shown;
}

std::string IdsWithTokens(const BpeTokenizer &tok, const std::vector<int32_t> &ids, size_t limit = 40) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < ids.size() && i < limit; ++i)
    os << (i ? ", " : "") << ids[i] << ":" << Quote(tok.IdToToken(ids[i]).value_or("?"), 40);
  if (ids.size() > limit) os << ", ... " << ids.size() << " ids";
  return os.str() + "]";
}

// Counts matches of one kind of output and keeps the first mismatches for the report.
struct Tally {
  explicit Tally(std::string name) : what(std::move(name)) {}
  std::string what;
  size_t total = 0, matched = 0;
  std::vector<std::string> reports;
  void Add(bool ok, const std::function<std::string()> &report) {
    ++total;
    if (ok) {
      ++matched;
    } else if (reports.size() < kMaxReported) {
      reports.push_back(report());
    }
  }
  void Print() const {
    std::cout << "[golden] " << what << ": " << matched << "/" << total << " match ("
              << (total ? 100.0 * static_cast<double>(matched) / static_cast<double>(total) : 100.0)
              << " %)\n";
    for (const auto &r : reports) std::cout << r << "\n";
  }
};

void CompareWithHuggingFace(const BpeTokenizer &tok, const std::string &name, const fs::path &expected_path) {
  const fs::path dir = testing::TestData() / "tokenizer";
  const json corpus = ReadJson(dir / "corpus.json");
  const json expected = ReadJson(expected_path);
  const auto &texts = corpus.at("texts");
  const auto &cases = expected.at("cases");
  ASSERT_EQ(texts.size(), cases.size()) << expected_path << " was made from another corpus";
  ASSERT_GE(texts.size(), 2000u);

  Tally ids_tally(name + " Encode ids"), decode_tally(name + " Decode");
  size_t bytes = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i].get<std::string>();
    bytes += text.size();
    const auto want = cases[i].at("ids").get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok.Encode(text);
    ids_tally.Add(got == want, [&] {
      size_t first = 0;
      while (first < got.size() && first < want.size() && got[first] == want[first]) ++first;
      return "  text #" + std::to_string(i) + " " + Quote(text) + "\n    first difference at id " +
             std::to_string(first) + "\n    hf:  " + IdsWithTokens(tok, want) +
             "\n    c++: " + IdsWithTokens(tok, got);
    });
    // Decoding is compared on Hugging Face's ids so that it is tested even where encoding differs.
    const std::vector<int32_t> half(want.begin(),
                                    want.begin() + static_cast<std::ptrdiff_t>(want.size() / 2));
    const std::string full = tok.Decode(want), prefix = tok.Decode(half), skip = tok.Decode(want, true);
    const bool decode_ok = full == cases[i].at("decoded") && prefix == cases[i].at("prefix_decoded") &&
                           skip == cases[i].at("skip_special_decoded");
    decode_tally.Add(decode_ok, [&] {
      return "  text #" + std::to_string(i) + " ids " + IdsWithTokens(tok, want) + "\n    hf  decoded " +
             Quote(cases[i].at("decoded")) + " prefix " + Quote(cases[i].at("prefix_decoded")) + " skip " +
             Quote(cases[i].at("skip_special_decoded")) + "\n    c++ decoded " + Quote(full) + " prefix " +
             Quote(prefix) + " skip " + Quote(skip);
    });
  }
  const auto &decode_lists = corpus.at("decode");
  for (size_t i = 0; i < decode_lists.size(); ++i) {
    const auto ids = decode_lists[i].get<std::vector<int32_t>>();
    const std::string got = tok.Decode(ids), want = expected.at("decode")[i].get<std::string>();
    decode_tally.Add(got == want, [&] {
      return "  id list #" + std::to_string(i) + " " + IdsWithTokens(tok, ids) + "\n    hf:  " + Quote(want) +
             "\n    c++: " + Quote(got);
    });
  }
  Tally probe_tally(name + " TokenToId");
  const auto &probes = corpus.at("probes");
  for (size_t i = 0; i < probes.size(); ++i) {
    const std::string probe = probes[i].get<std::string>();
    const int32_t want = expected.at("token_to_id")[i].get<int32_t>(), got = tok.TokenToId(probe);
    probe_tally.Add(got == want, [&] {
      return "  " + Quote(probe) + ": hf " + std::to_string(want) + ", c++ " + std::to_string(got);
    });
  }

  std::cout << "[golden] " << name << ": " << texts.size() << " texts, " << bytes << " bytes\n";
  for (const Tally *t : {&ids_tally, &decode_tally, &probe_tally}) t->Print();
  EXPECT_EQ(ids_tally.matched, ids_tally.total) << "Encode differs from Hugging Face (see the report above)";
  EXPECT_EQ(decode_tally.matched, decode_tally.total) << "Decode differs from Hugging Face";
  EXPECT_EQ(probe_tally.matched, probe_tally.total) << "TokenToId differs from Hugging Face";
  EXPECT_EQ(tok.VocabSize(), expected.at("vocab_size").get<size_t>());
}

TEST(TokenizerGolden, CosyVoice3TokenizerJsonMatchesHuggingFace) {
  const fs::path dir = testing::TestData() / "tokenizer" / "cosyvoice3";
  const BpeTokenizer tok = BpeTokenizer::FromTokenizerJson(dir / "tokenizer.json");
  CompareWithHuggingFace(tok, "cosyvoice3 (tokenizer.json)", dir / "expected.json");
}

TEST(TokenizerGolden, BundleFilesMatchHuggingFace) {
  const fs::path dir = testing::TestData() / "tokenizer";
  const BpeTokenizer tok =
      BpeTokenizer::FromFiles(dir / "bundle/tokenizer/vocab.json", dir / "bundle/tokenizer/merges.txt",
                              dir / "bundle/tokenizer/added_tokens.json");
  CompareWithHuggingFace(tok, "cosyvoice3 (bundle files)", dir / "cosyvoice3" / "expected.json");
}

TEST(TokenizerGolden, AddedTokenFlagsMatchHuggingFace) {
  const fs::path dir = testing::TestData() / "tokenizer" / "flags";
  const BpeTokenizer tok = BpeTokenizer::FromTokenizerJson(dir / "tokenizer.json");
  CompareWithHuggingFace(tok, "added-token flags", dir / "expected.json");
}

}  // namespace
}  // namespace cosyvoice
