// src/engine/voice_file.cc - Voice::Save / Voice::Load (docs/voice-format.md).
#include "engine/voice_file.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "common/sha256.h"
#include "cosyvoice/cosyvoice.h"
#include "text/input_text.h"
#include "text/utf8_codec.h"

namespace cosyvoice {
namespace {

constexpr char kMagic[8] = {'C', 'V', 'V', 'O', 'I', 'C', 'E', '\0'};
constexpr uint32_t kVoiceFormatVersion = 1;
constexpr int64_t kMaxCount = 1 << 22;  // speech tokens or mel frames: hours of speech

void PutU32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

template <typename T>
void PutArray(std::string &out, const std::vector<T> &v) {
  // little-endian hosts only (every platform ONNX Runtime supports)
  out.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

[[noreturn]] void Bad(const std::string &path, const std::string &what) {
  throw Error(ErrorCode::kInvalidArgument, path + ": not a usable voice file: " + what);
}

}  // namespace

std::string EncodeVoiceFile(const Voice &voice) {
  CheckVoiceValues(voice, voice.source.empty() ? "voice" : "voice '" + voice.source + "'");
  std::string payload;
  PutArray(payload, voice.speech_tokens);
  PutArray(payload, voice.speaker_embedding);
  PutArray(payload, voice.prompt_mel);
  Sha256 sha;
  sha.Update(payload.data(), payload.size());
  // Only the file name: a voice file is shared and must not carry where its maker keeps recordings.
  const std::string source = std::filesystem::path(voice.source).filename().string();
  const nlohmann::json header = {
      {"transcript", voice.transcript},
      {"num_speech_tokens", voice.speech_tokens.size()},
      {"embedding_dim", voice.speaker_embedding.size()},
      {"mel_bins", voice.mel_bins},
      {"mel_frames", voice.mel_frames()},
      {"prompt_seconds", voice.prompt_seconds},
      {"source", source},
      {"frontend_id", voice.frontend_id},
      {"payload_sha256", sha.HexDigest()},
  };
  const std::string json = header.dump();
  std::string out(kMagic, sizeof(kMagic));
  PutU32(out, kVoiceFormatVersion);
  PutU32(out, static_cast<uint32_t>(json.size()));
  out += json;
  out += payload;
  return out;
}

void Voice::Save(const std::string &path) const {
  CheckVoiceValues(*this, path);  // named by the path; EncodeVoiceFile repeats it for its other callers
  const std::string bytes = EncodeVoiceFile(*this);
  AtomicFile file(path);  // a failure leaves a previous file at `path` as it was
  file.Write(bytes.data(), bytes.size());
  file.Commit();
}

void CheckVoiceValues(const Voice &v, const std::string &name) {
  auto fail = [&](const std::string &what) {
    throw Error(ErrorCode::kInvalidArgument, name + ": not a usable voice: " + what);
  };
  for (size_t i = 0; i < v.speaker_embedding.size(); ++i)
    if (!std::isfinite(v.speaker_embedding[i]))
      fail("speaker_embedding[" + std::to_string(i) + "] is not a finite number (corrupt voice data)");
  for (size_t i = 0; i < v.prompt_mel.size(); ++i)
    if (!std::isfinite(v.prompt_mel[i]))
      fail("prompt_mel[" + std::to_string(i) + "] is not a finite number (corrupt voice data)");
  for (size_t i = 0; i < v.speech_tokens.size(); ++i)
    if (v.speech_tokens[i] < 0) fail("speech_tokens[" + std::to_string(i) + "] is negative");
  if (!std::isfinite(v.prompt_seconds) || v.prompt_seconds < 0)
    fail("prompt_seconds must be a finite duration >= 0");
  if (v.transcript.size() > text::kMaxTranscriptBytes)
    fail("transcript too long: " + std::to_string(v.transcript.size()) + " bytes, at most " +
         std::to_string(text::kMaxTranscriptBytes) + " accepted");
  const size_t bad = FindInvalidUtf8(v.transcript);
  if (bad != std::string::npos) fail("transcript: invalid UTF-8 at byte offset " + std::to_string(bad));
}

Voice ParseVoiceFile(std::string_view in, const std::string &path) {
  if (in.size() > kMaxVoiceFileBytes)
    Bad(path, std::to_string(in.size()) + " bytes; voice files are well under 1 MB");
  if (in.size() < 16 || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0) Bad(path, "bad magic");
  const uint32_t version = GetU32(in, 8);
  if (version != kVoiceFormatVersion)
    Bad(path, "format version " + std::to_string(version) + ", this build reads 1");
  const uint32_t json_len = GetU32(in, 12);
  if (16 + static_cast<size_t>(json_len) > in.size()) Bad(path, "truncated header");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(in.substr(16, json_len));
  } catch (const nlohmann::json::exception &e) {
    Bad(path, std::string("header: ") + e.what());
  }
  Voice v;
  int64_t tokens = 0, dim = 0, frames = 0, mel_bins = 0;
  std::string checksum;
  // a count must be a JSON integer: nlohmann converts a float such as 1e32 with a cast whose result
  // is undefined (found by fuzz_voice_file)
  auto count = [&](const char *key) {
    const nlohmann::json &x = h.at(key);
    if (!x.is_number_integer()) Bad(path, std::string("header field ") + key + ": expected an integer");
    return x.get<int64_t>();
  };
  try {
    v.transcript = h.at("transcript").get<std::string>();
    tokens = count("num_speech_tokens");
    dim = count("embedding_dim");
    mel_bins = count("mel_bins");
    frames = count("mel_frames");
    v.prompt_seconds = h.at("prompt_seconds").get<double>();
    v.source = h.at("source").get<std::string>();
    v.frontend_id = h.at("frontend_id").get<std::string>();
    checksum = h.at("payload_sha256").get<std::string>();
  } catch (const nlohmann::json::exception &e) {
    Bad(path, std::string("header field: ") + e.what());
  }
  // Bounds before any arithmetic: the payload size must not overflow (a wrapped product once let a
  // header claim 2^62 tokens over an empty payload).
  if (tokens < 0 || tokens > kMaxCount || dim < 0 || dim > 65536 || frames < 0 || frames > kMaxCount ||
      mel_bins <= 0 || mel_bins > 1024)
    Bad(path, "sizes out of range (tokens " + std::to_string(tokens) + ", embedding " + std::to_string(dim) +
                  ", mel " + std::to_string(frames) + " x " + std::to_string(mel_bins) + ")");
  v.mel_bins = static_cast<int>(mel_bins);
  const size_t mel_values = static_cast<size_t>(frames) * static_cast<size_t>(v.mel_bins);
  const size_t payload = static_cast<size_t>(tokens) * 4 + static_cast<size_t>(dim) * 4 + mel_values * 4;
  const size_t at = 16 + json_len;
  if (in.size() - at != payload) {
    Bad(path, "payload is " + std::to_string(in.size() - at) + " bytes, header implies " +
                  std::to_string(payload) + " (truncated or corrupt)");
  }
  Sha256 sha;
  sha.Update(in.data() + at, payload);
  if (sha.HexDigest() != checksum) Bad(path, "checksum mismatch (corrupt file)");
  v.speech_tokens.resize(static_cast<size_t>(tokens));
  v.speaker_embedding.resize(static_cast<size_t>(dim));
  v.prompt_mel.resize(mel_values);
  const size_t token_bytes = static_cast<size_t>(tokens) * 4, dim_bytes = static_cast<size_t>(dim) * 4;
  if (token_bytes > 0) std::memcpy(v.speech_tokens.data(), in.data() + at, token_bytes);
  if (dim_bytes > 0) std::memcpy(v.speaker_embedding.data(), in.data() + at + token_bytes, dim_bytes);
  if (mel_values > 0)
    std::memcpy(v.prompt_mel.data(), in.data() + at + token_bytes + dim_bytes, mel_values * 4);
  CheckVoiceValues(v, path);
  return v;
}

Voice Voice::Load(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kInvalidArgument, path + ": cannot open voice file");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxVoiceFileBytes)
    Bad(path, std::to_string(size) + " bytes; voice files are well under 1 MB");
  const std::string in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return ParseVoiceFile(in, path);
}

}  // namespace cosyvoice
