// tests/fuzz/fuzz_bundle_config.cc - config.json parsing and validation (src/engine/bundle_config.cc).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "engine/bundle_config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    const cosyvoice::BundleConfig c = cosyvoice::BundleConfig::Parse(text, "/fuzz-bundle");
    // an accepted config satisfies the facts the engine relies on without checking again
    FUZZ_CHECK(c.flow.static_chunk_size % c.flow.token_mel_ratio == 0);
    FUZZ_CHECK(c.hift.istft_hop <= c.hift.istft_n_fft / 2 && c.hift.hop_length % c.hift.istft_hop == 0);
    FUZZ_CHECK(c.hift.source_noise.skip <= (uint64_t{1} << 27));
    FUZZ_CHECK(c.llm.stop_begin < c.llm.stop_end && c.llm.stop_end <= c.llm.speech_vocab_size);
    FUZZ_CHECK(c.streaming.token_hop_len >= 10 && c.streaming.token_max_hop_len >= c.streaming.token_hop_len);
    for (const auto &entry : c.files) {
      const std::filesystem::path p(entry.first);
      FUZZ_CHECK(p.is_relative());
      for (const auto &part : p) FUZZ_CHECK(part != "..");
    }
  });
  return 0;
}
