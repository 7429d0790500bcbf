// tests/fuzz/fuzz_tokenizer.cc - the BPE tokenizer (src/text/bpe_tokenizer.cc) with the Qwen2
// vocabulary and CosyVoice3's added tokens. The vocabulary comes from COSYVOICE_FUZZ_TOKENIZER_JSON
// or the tokenizer.json `make deps` fetches (third_party/qwen2-tokenizer/).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "text/bpe_tokenizer.h"
#include "text/cosyvoice3_tokens.h"
#include "text/utf8_codec.h"

namespace {

std::unique_ptr<cosyvoice::BpeTokenizer> g_tokenizer;

std::unique_ptr<cosyvoice::BpeTokenizer> LoadTokenizer() {
  const char *env = std::getenv("COSYVOICE_FUZZ_TOKENIZER_JSON");
  const std::string path = env != nullptr ? env : COSYVOICE_FUZZ_TOKENIZER_JSON;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "fuzz_tokenizer: cannot read %s (run `make deps`)\n", path.c_str());
    std::exit(1);
  }
  const nlohmann::json j = nlohmann::json::parse(in);
  std::unordered_map<std::string, int32_t> vocab =
      j.at("model").at("vocab").get<std::unordered_map<std::string, int32_t>>();
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto &m : j.at("model").at("merges")) {
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else {
      merges.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
    }
  }
  auto added = cosyvoice::CosyVoice3AddedTokens();
  // two flag combinations the release does not use, so that their matching paths are fuzzed too
  cosyvoice::AddedToken strip;
  strip.id = cosyvoice::kLastAddedTokenId + 1;
  strip.content = "<lrs>";
  strip.special = true;
  strip.lstrip = strip.rstrip = true;
  cosyvoice::AddedToken word;
  word.id = cosyvoice::kLastAddedTokenId + 2;
  word.content = "café";
  word.normalized = true;
  word.single_word = true;
  added.push_back(strip);
  added.push_back(word);
  return std::make_unique<cosyvoice::BpeTokenizer>(std::move(vocab), merges, std::move(added), path);
}

void EncodeAndDecode(std::string_view text) {
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    const std::vector<int32_t> ids = g_tokenizer->Encode(text);
    const auto vocab_size = static_cast<int64_t>(cosyvoice::kLastAddedTokenId + 3);
    for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < vocab_size);
    // A token covers at least one byte of the NFC-normalized text, and NFC may lengthen UTF-8 by up
    // to 3x (composition exclusions such as U+0F4D -> U+0F4C U+0FB7; UAX #15 section 9,
    // https://unicode.org/reports/tr15/#Stability_of_Normalized_Forms); found by the fuzzer.
    FUZZ_CHECK(ids.size() <= 3 * text.size() + 1);
    const std::string back = g_tokenizer->Decode(ids);
    FUZZ_CHECK(cosyvoice::FindInvalidUtf8(back) == std::string_view::npos);
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int * /*argc*/, char *** /*argv*/) {
  g_tokenizer = LoadTokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char *>(data), size);
  EncodeAndDecode(raw);  // invalid UTF-8: refused with the byte offset
  if (cosyvoice::FindInvalidUtf8(raw) != std::string_view::npos) EncodeAndDecode(cosyvoice::Utf8Lossy(raw));
  return 0;
}
