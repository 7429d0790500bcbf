// src/engine/voice_file.cc - Voice::Save / Voice::Load (docs/voice-format.md).
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "common/sha256.h"
#include "engine/voice_file.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice {
namespace {

constexpr char kMagic[8] = {'C', 'V', 'V', 'O', 'I', 'C', 'E', '\0'};
constexpr uint32_t kVoiceFormatVersion = 1;

void PutU32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(const std::string &in, size_t at) {
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
  const std::string bytes = EncodeVoiceFile(*this);
  AtomicFile file(path);  // a failure leaves a previous file at `path` as it was
  file.Write(bytes.data(), bytes.size());
  file.Commit();
}

Voice Voice::Load(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kInvalidArgument, path + ": cannot open voice file");
  const std::string in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
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
  size_t tokens = 0, dim = 0;
  int64_t frames = 0;
  try {
    v.transcript = h.at("transcript").get<std::string>();
    tokens = h.at("num_speech_tokens").get<size_t>();
    dim = h.at("embedding_dim").get<size_t>();
    v.mel_bins = h.at("mel_bins").get<int>();
    frames = h.at("mel_frames").get<int64_t>();
    v.prompt_seconds = h.at("prompt_seconds").get<double>();
    v.source = h.at("source").get<std::string>();
    v.frontend_id = h.at("frontend_id").get<std::string>();
  } catch (const nlohmann::json::exception &e) {
    Bad(path, std::string("header field: ") + e.what());
  }
  if (v.mel_bins <= 0 || frames < 0) Bad(path, "bad mel dimensions");
  const size_t mel_values = static_cast<size_t>(frames) * static_cast<size_t>(v.mel_bins);
  const size_t payload = tokens * 4 + dim * 4 + mel_values * 4;
  const size_t at = 16 + json_len;
  if (in.size() - at != payload) {
    Bad(path, "payload is " + std::to_string(in.size() - at) + " bytes, header implies " +
                  std::to_string(payload) + " (truncated or corrupt)");
  }
  Sha256 sha;
  sha.Update(in.data() + at, payload);
  if (sha.HexDigest() != h.value("payload_sha256", "")) Bad(path, "checksum mismatch (corrupt file)");
  v.speech_tokens.resize(tokens);
  v.speaker_embedding.resize(dim);
  v.prompt_mel.resize(mel_values);
  std::memcpy(v.speech_tokens.data(), in.data() + at, tokens * 4);
  std::memcpy(v.speaker_embedding.data(), in.data() + at + tokens * 4, dim * 4);
  std::memcpy(v.prompt_mel.data(), in.data() + at + tokens * 4 + dim * 4, mel_values * 4);
  return v;
}

}  // namespace cosyvoice
