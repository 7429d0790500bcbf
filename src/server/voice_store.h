// src/server/voice_store.h - the voice library: prepared voices (speech tokens, speaker embedding,
// prompt mel, transcript) stored under a name, behind an interface so that a shared database
// (PostgreSQL, docs/scaling.md) can replace the local SQLite file.
//
// Contract for every backend: Add is atomic (after a crash at any point a voice is either complete
// or absent), names are unique, and lookups accept the id or the name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::server {

struct VoiceRecord {
  std::string id;       // "v_" + 16 hex digits, assigned by the store
  std::string name;     // unique, ValidateVoiceName
  int64_t created = 0;  // unix seconds
  double prompt_seconds = 0;
  std::string transcript;
  std::string frontend_id;  // which speech tokenizer + speaker encoder prepared it
};

class VoiceStore {
 public:
  virtual ~VoiceStore() = default;
  // Stores `voice` under `name`. Throws ApiException: 409 name_taken, 507 store_full.
  virtual VoiceRecord Add(const std::string &name, const Voice &voice) = 0;
  virtual std::vector<VoiceRecord> List() const = 0;  // oldest first
  virtual std::optional<VoiceRecord> Find(const std::string &id_or_name) const = 0;
  // The prepared voice, or nullptr when there is none. Throws ApiException 500 for a damaged record.
  virtual std::shared_ptr<const Voice> Load(const std::string &id_or_name) const = 0;
  virtual bool Remove(const std::string &id_or_name) = 0;
  virtual size_t Count() const = 0;
  // "sqlite /path/voices.sqlite3" or "memory (not kept across restarts)".
  virtual std::string Describe() const = 0;
};

constexpr size_t kMaxVoiceNameBytes = 64;

// Names are 1..64 bytes of valid UTF-8: letters and digits (any script), '_', '-', '.', and inner
// spaces; not starting with '.' or '-'. Separators, control characters and ".." cannot occur, so a
// name is never a path trick even if a backend used it as a key on disk. Throws ApiException 400.
void ValidateVoiceName(const std::string &name);

// A SQLite database (WAL journal) in `data_dir`, created when missing.
std::unique_ptr<VoiceStore> OpenSqliteVoiceStore(const std::string &data_dir, size_t max_voices);
// Voices kept in memory only (no --data-dir).
std::unique_ptr<VoiceStore> NewMemoryVoiceStore(size_t max_voices);

// Blob encodings shared by the backends (little-endian arrays; docs/server.md "Voice store").
std::string PackInt32(const std::vector<int32_t> &values);
std::string PackFloat32(const std::vector<float> &values);
bool UnpackInt32(const void *data, size_t bytes, std::vector<int32_t> &out);
bool UnpackFloat32(const void *data, size_t bytes, std::vector<float> &out);
// Checks the shapes of a voice read back from storage (counts agree with each other).
bool VoiceShapesConsistent(const Voice &voice);
// A fresh random id.
std::string NewVoiceId();

}  // namespace cosyvoice::server
