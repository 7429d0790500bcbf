// tests/fuzz/fuzz_audio.cc - audio decoding (src/audio/audio_io.cc over libsndfile's virtual I/O)
// and the prompt checks and resampling that follow it for a prompt recording.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "audio/audio_io.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    const cosyvoice::Audio audio = cosyvoice::DecodeAudio(data, size, "fuzz.wav");
    FUZZ_CHECK(audio.sample_rate > 0 && !audio.samples.empty());
    for (float x : audio.samples) FUZZ_CHECK(std::isfinite(x));
    const cosyvoice::PromptAudio p = cosyvoice::PreparePromptAudio(audio, "fuzz.wav");
    for (float x : p.x16) FUZZ_CHECK(std::isfinite(x));
    for (float x : p.x24) FUZZ_CHECK(std::isfinite(x));
  });
  return 0;
}
