// src/server/voice_store.cc - name rules, blob encodings and the in-memory store.
#include "server/voice_store.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include "server/api_error.h"

namespace cosyvoice::server {
namespace {

// Length of the UTF-8 sequence starting at s[i] if it is well formed (no overlongs, surrogates or
// values above U+10FFFF), else 0.
size_t Utf8SequenceLength(const std::string &s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 0x2) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

ApiError NameError(const std::string &message) {
  return BadRequest("name", message, "invalid_voice_name");
}

class MemoryVoiceStore : public VoiceStore {
 public:
  explicit MemoryVoiceStore(size_t max_voices) : max_(max_voices) {}

  VoiceRecord Add(const std::string &name, const Voice &voice) override {
    ValidateVoiceName(name);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto &e : entries_)
      if (e.record.name == name) throw ApiException(NameTaken(name));
    if (entries_.size() >= max_) throw ApiException(StoreFull(max_));
    Entry e;
    e.record.id = NewVoiceId();
    e.record.name = name;
    e.record.created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    e.record.prompt_seconds = voice.prompt_seconds;
    e.record.transcript = voice.transcript;
    e.record.frontend_id = voice.frontend_id;
    e.voice = std::make_shared<const Voice>(voice);
    entries_.push_back(e);
    return e.record;
  }
  std::vector<VoiceRecord> List() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<VoiceRecord> out;
    for (const auto &e : entries_) out.push_back(e.record);
    return out;
  }
  std::optional<VoiceRecord> Find(const std::string &key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    const Entry *e = Lookup(key);
    return e ? std::optional<VoiceRecord>(e->record) : std::nullopt;
  }
  std::shared_ptr<const Voice> Load(const std::string &key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    const Entry *e = Lookup(key);
    return e ? e->voice : nullptr;
  }
  bool Remove(const std::string &key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const Entry *e = Lookup(key);
    if (!e) return false;
    entries_.erase(entries_.begin() + (e - entries_.data()));
    return true;
  }
  size_t Count() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }
  std::string Describe() const override { return "memory (not kept across restarts: give --data-dir)"; }

  static ApiError StoreFull(size_t max) {
    ApiError e;
    e.status = 507;
    e.type = "server_error";
    e.code = "store_full";
    e.message =
        "the voice library is full (" + std::to_string(max) + " voices, --max-voices); delete some first";
    return e;
  }

 private:
  struct Entry {
    VoiceRecord record;
    std::shared_ptr<const Voice> voice;
  };
  const Entry *Lookup(const std::string &key) const {
    for (const auto &e : entries_)
      if (e.record.id == key || e.record.name == key) return &e;
    return nullptr;
  }
  const size_t max_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace

void ValidateVoiceName(const std::string &name) {
  if (name.empty()) throw ApiException(NameError("voice name is empty"));
  if (name.size() > kMaxVoiceNameBytes)
    throw ApiException(NameError("voice name is " + std::to_string(name.size()) + " bytes long; at most " +
                                 std::to_string(kMaxVoiceNameBytes) + " are allowed"));
  if (name[0] == '.' || name[0] == '-' || name[0] == ' ' || name.back() == ' ')
    throw ApiException(NameError("voice name must not start with '.', '-' or a space, nor end with a space"));
  for (size_t i = 0; i < name.size();) {
    const size_t n = Utf8SequenceLength(name, i);
    if (n == 0) throw ApiException(NameError("voice name is not valid UTF-8"));
    if (n == 1) {
      const char c = name[i];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.' || c == ' ';
      if (!ok)
        throw ApiException(NameError(std::string("voice name contains '") +
                                     (c >= 0x20 && c < 0x7F ? c : '?') +
                                     "': use letters, digits, '_', '-', '.' and spaces"));
    }
    i += n;
  }
  if (name.find("..") != std::string::npos) throw ApiException(NameError("voice name must not contain '..'"));
}

std::string PackInt32(const std::vector<int32_t> &v) {
  std::string out(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const auto u = static_cast<uint32_t>(v[i]);
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<char>((u >> (8 * b)) & 0xFF);
  }
  return out;
}

std::string PackFloat32(const std::vector<float> &v) {
  std::vector<int32_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(&bits[i], &v[i], 4);
  return PackInt32(bits);
}

bool UnpackInt32(const void *data, size_t bytes, std::vector<int32_t> &out) {
  if (bytes % 4 != 0) return false;
  const auto *p = static_cast<const unsigned char *>(data);
  out.resize(bytes / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= static_cast<uint32_t>(p[4 * i + b]) << (8 * b);
    out[i] = static_cast<int32_t>(u);
  }
  return true;
}

bool UnpackFloat32(const void *data, size_t bytes, std::vector<float> &out) {
  std::vector<int32_t> bits;
  if (!UnpackInt32(data, bytes, bits)) return false;
  out.resize(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) std::memcpy(&out[i], &bits[i], 4);
  return true;
}

bool VoiceShapesConsistent(const Voice &v) {
  if (v.mel_bins <= 0 || v.speech_tokens.empty() || v.speaker_embedding.empty()) return false;
  if (v.prompt_mel.size() % static_cast<size_t>(v.mel_bins) != 0) return false;
  // A whole number of mel frames per speech token (the bundle's token_mel_ratio, 2 in CosyVoice3).
  const auto tokens = static_cast<int64_t>(v.speech_tokens.size());
  return v.mel_frames() >= tokens && v.mel_frames() % tokens == 0;
}

std::string NewVoiceId() {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mutex);
  const uint64_t r = rng();
  char buf[24];
  std::snprintf(buf, sizeof(buf), "v_%016llx", static_cast<unsigned long long>(r));
  return buf;
}

std::unique_ptr<VoiceStore> NewMemoryVoiceStore(size_t max_voices) {
  return std::make_unique<MemoryVoiceStore>(max_voices);
}

}  // namespace cosyvoice::server
