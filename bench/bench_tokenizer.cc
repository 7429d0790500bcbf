// bench/bench_tokenizer.cc - tokenizer throughput on one core.
//
// usage: bench_tokenizer TOKENIZER.json CORPUS.json [SECONDS]
//   e.g. (after `make test` wrote the files)
//   build/bin/bench_tokenizer build/test-data/tokenizer/cosyvoice3/tokenizer.json
//   build/test-data/tokenizer/corpus.json
// Prints MB/s of UTF-8 input for the first pass (empty word cache) and for repeated passes, over the
// whole corpus and over its long natural paragraphs (>= 2 kB, mixed languages and tags).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/bpe_tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double mb_per_s;
  size_t ids;
};

Result Run(const cosyvoice::BpeTokenizer &tok, const std::vector<std::string> &texts, double min_seconds) {
  size_t bytes = 0, ids = 0, passes = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    for (const auto &t : texts) {
      ids += tok.Encode(t).size();
      bytes += t.size();
    }
    ++passes;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < min_seconds);
  return {static_cast<double>(bytes) / 1e6 / elapsed, ids / passes};
}

size_t Bytes(const std::vector<std::string> &texts) {
  size_t n = 0;
  for (const auto &t : texts) n += t.size();
  return n;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER.json CORPUS.json [SECONDS]\n", argv[0]);
    return 2;
  }
  const double seconds = argc > 3 ? std::stod(argv[3]) : 2.0;
  try {
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) throw std::runtime_error(std::string(argv[2]) + ": not found");
    const auto texts = nlohmann::json::parse(in).at("texts").get<std::vector<std::string>>();
    std::vector<std::string> long_texts;
    for (const auto &t : texts)
      if (t.size() >= 2000) long_texts.push_back(t);

    // A cold pass runs once per tokenizer (its word cache then fills), so take the best of a few
    // fresh tokenizers: the machine may be shared.
    constexpr int kColdRuns = 3;
    double cold = 0, long_cold = 0, load_seconds = 1e9;
    for (int run = 0; run < kColdRuns; ++run) {
      const auto load_start = Clock::now();
      const auto tok = cosyvoice::BpeTokenizer::FromTokenizerJson(argv[1]);
      load_seconds = std::min(load_seconds, std::chrono::duration<double>(Clock::now() - load_start).count());
      long_cold = std::max(long_cold, Run(tok, long_texts, 0.0).mb_per_s);
      cold = std::max(cold, Run(tok, texts, 0.0).mb_per_s);  // the long texts' words are cached here
    }
    const auto tok = cosyvoice::BpeTokenizer::FromTokenizerJson(argv[1]);
    const Result warm = Run(tok, texts, seconds), long_warm = Run(tok, long_texts, seconds);
    std::printf("load: %.2f s\n", load_seconds);
    std::printf("corpus, %zu texts, %.2f MB: first pass (cold cache) %.1f MB/s, repeated %.1f MB/s\n",
                texts.size(), static_cast<double>(Bytes(texts)) / 1e6, cold, warm.mb_per_s);
    std::printf(
        "long paragraphs, %zu texts, %.2f MB: first pass (cold cache) %.1f MB/s, repeated %.1f MB/s\n",
        long_texts.size(), static_cast<double>(Bytes(long_texts)) / 1e6, long_cold, long_warm.mb_per_s);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
