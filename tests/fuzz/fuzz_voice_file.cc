// tests/fuzz/fuzz_voice_file.cc - the voice file reader (src/engine/voice_file.cc). Each input is
// tried as given and, to get past the checksum, once more with the checksum its header should have.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/sha256.h"
#include "engine/voice_file.h"
#include "fuzz_util.h"

namespace {

void ParseAndCheck(const std::string &bytes) {
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    const cosyvoice::Voice v = cosyvoice::ParseVoiceFile(bytes, "fuzz.voice");
    for (float x : v.speaker_embedding) FUZZ_CHECK(std::isfinite(x));
    for (float x : v.prompt_mel) FUZZ_CHECK(std::isfinite(x));
    for (int32_t t : v.speech_tokens) FUZZ_CHECK(t >= 0);
    FUZZ_CHECK(v.mel_bins > 0 && v.prompt_mel.size() % static_cast<size_t>(v.mel_bins) == 0);
  });
}

// The same file with payload_sha256 set to the payload's real checksum (when the header is an object).
bool WithValidChecksum(const std::string &in, std::string *out) {
  if (in.size() < 16) return false;
  uint32_t json_len = 0;
  for (int i = 0; i < 4; ++i)
    json_len |= static_cast<uint32_t>(static_cast<unsigned char>(in[12 + i])) << (8 * i);
  if (16 + static_cast<size_t>(json_len) > in.size()) return false;
  nlohmann::json h = nlohmann::json::parse(in.substr(16, json_len), nullptr, /*allow_exceptions=*/false);
  if (!h.is_object()) return false;
  cosyvoice::Sha256 sha;
  sha.Update(in.data() + 16 + json_len, in.size() - 16 - json_len);
  h["payload_sha256"] = sha.HexDigest();
  const std::string json = h.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  *out = in.substr(0, 12);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((json.size() >> (8 * i)) & 0xff));
  *out += json + in.substr(16 + json_len);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string bytes(reinterpret_cast<const char *>(data), size);
  ParseAndCheck(bytes);
  std::string fixed;
  if (WithValidChecksum(bytes, &fixed)) ParseAndCheck(fixed);
  return 0;
}
