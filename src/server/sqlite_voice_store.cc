// src/server/sqlite_voice_store.cc - the voice library in a SQLite database (WAL journal).
//
// One row per voice; the arrays are little-endian blobs (voice_store.h). A voice is written by a
// single INSERT, which SQLite commits atomically: a process killed at any point (SIGKILL during
// an upload, during preparation, or inside the commit) leaves the voice either complete or absent,
// and the WAL journal is replayed or discarded on the next open (https://www.sqlite.org/wal.html,
// https://www.sqlite.org/atomiccommit.html). synchronous=FULL makes a committed voice survive a
// power loss too; writes are rare, so the extra fsync costs nothing that matters.
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <list>
#include <mutex>
#include <unordered_map>

#include "common/log.h"
#include "server/api_error.h"
#include "server/voice_store.h"

namespace cosyvoice::server {
namespace {

constexpr int kSchemaVersion = 1;
constexpr size_t kCachedVoices = 32;  // prepared voices kept in memory (a 30 s prompt is ~0.5 MB)

ApiError StoreError(const std::string &what) {
  ApiError e;
  e.status = 500;
  e.type = "server_error";
  e.code = "voice_store_error";
  e.message = "voice store: " + what;
  return e;
}

// A prepared statement, finalized on every path.
class Statement {
 public:
  Statement(sqlite3 *db, const char *sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw ApiException(StoreError(std::string("cannot prepare '") + sql + "': " + sqlite3_errmsg(db)));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement &) = delete;
  Statement &operator=(const Statement &) = delete;
  Statement &Bind(int i, const std::string &text) {
    Check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement &BindBlob(int i, const std::string &bytes) {
    Check(sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement &Bind(int i, int64_t v) {
    Check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Statement &Bind(int i, double v) {
    Check(sqlite3_bind_double(stmt_, i, v));
    return *this;
  }
  // SQLITE_ROW or SQLITE_DONE; anything else throws.
  int Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) Check(rc);
    return rc;
  }
  std::string Text(int col) const {
    const auto *p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char *>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  const void *Blob(int col) const { return sqlite3_column_blob(stmt_, col); }
  size_t Bytes(int col) const { return static_cast<size_t>(sqlite3_column_bytes(stmt_, col)); }

 private:
  void Check(int rc) const {
    if (rc != SQLITE_OK) throw ApiException(StoreError(sqlite3_errmsg(db_)));
  }
  sqlite3 *db_;
  sqlite3_stmt *stmt_ = nullptr;
};

class SqliteVoiceStore : public VoiceStore {
 public:
  SqliteVoiceStore(const std::string &data_dir, size_t max_voices) : max_(max_voices) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) throw Error(ErrorCode::kIo, data_dir + ": cannot create the data directory: " + ec.message());
    path_ = (std::filesystem::path(data_dir) / "voices.sqlite3").string();
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw Error(ErrorCode::kIo, path_ + ": cannot open the voice database: " + why);
    }
    try {
      Init();
    } catch (const ApiException &e) {
      sqlite3_close(db_);
      throw Error(ErrorCode::kIo, path_ + ": " + e.error().message);
    }
  }
  ~SqliteVoiceStore() override { sqlite3_close(db_); }

  VoiceRecord Add(const std::string &name, const Voice &voice) override {
    ValidateVoiceName(name);
    std::lock_guard<std::mutex> lock(mutex_);
    if (CountLocked() >= max_) throw ApiException(Full());
    VoiceRecord r;
    r.id = NewVoiceId();
    r.name = name;
    r.created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    r.prompt_seconds = voice.prompt_seconds;
    r.transcript = voice.transcript;
    r.frontend_id = voice.frontend_id;
    Statement insert(
        db_,
        "INSERT INTO voices (id, name, created, prompt_seconds, transcript, source, frontend_id, "
        "mel_bins, speech_tokens, speaker_embedding, prompt_mel) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    insert.Bind(1, r.id).Bind(2, r.name).Bind(3, r.created).Bind(4, r.prompt_seconds).Bind(5, r.transcript);
    insert.Bind(6, voice.source).Bind(7, voice.frontend_id).Bind(8, static_cast<int64_t>(voice.mel_bins));
    insert.BindBlob(9, PackInt32(voice.speech_tokens))
        .BindBlob(10, PackFloat32(voice.speaker_embedding))
        .BindBlob(11, PackFloat32(voice.prompt_mel));
    try {
      insert.Step();
    } catch (const ApiException &) {
      if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) throw ApiException(NameTaken(name));
      throw;
    }
    return r;
  }

  std::vector<VoiceRecord> List() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q(db_,
                "SELECT id, name, created, prompt_seconds, transcript, frontend_id FROM voices ORDER BY "
                "created, rowid");
    std::vector<VoiceRecord> out;
    while (q.Step() == SQLITE_ROW) out.push_back(Record(q));
    return out;
  }

  std::optional<VoiceRecord> Find(const std::string &key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q(db_,
                "SELECT id, name, created, prompt_seconds, transcript, frontend_id FROM voices WHERE id = ?1 "
                "OR name = ?1 "
                "ORDER BY (id = ?1) DESC LIMIT 1");
    q.Bind(1, key);
    if (q.Step() != SQLITE_ROW) return std::nullopt;
    return Record(q);
  }

  std::shared_ptr<const Voice> Load(const std::string &key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q(db_,
                "SELECT id, transcript, source, frontend_id, mel_bins, prompt_seconds, speech_tokens, "
                "speaker_embedding, prompt_mel FROM voices WHERE id = ?1 OR name = ?1 ORDER BY (id = ?1) "
                "DESC LIMIT 1");
    q.Bind(1, key);
    if (q.Step() != SQLITE_ROW) return nullptr;
    const std::string id = q.Text(0);
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    auto v = std::make_shared<Voice>();
    v->transcript = q.Text(1);
    v->source = q.Text(2);
    v->frontend_id = q.Text(3);
    v->mel_bins = static_cast<int>(q.Int(4));
    v->prompt_seconds = q.Real(5);
    const bool ok = UnpackInt32(q.Blob(6), q.Bytes(6), v->speech_tokens) &&
                    UnpackFloat32(q.Blob(7), q.Bytes(7), v->speaker_embedding) &&
                    UnpackFloat32(q.Blob(8), q.Bytes(8), v->prompt_mel) && VoiceShapesConsistent(*v);
    if (!ok)
      throw ApiException(
          StoreError("voice '" + key + "' (" + id + ") is damaged: delete it and add it again"));
    Remember(id, v);
    return v;
  }

  bool Remove(const std::string &key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto record = FindLocked(key);
    if (!record) return false;
    Statement del(db_, "DELETE FROM voices WHERE id = ?1");
    del.Bind(1, record->id).Step();
    cache_.erase(record->id);
    order_.remove(record->id);
    return sqlite3_changes(db_) > 0;
  }

  size_t Count() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return CountLocked();
  }

  std::string Describe() const override { return "sqlite " + path_; }

 private:
  void Init() {
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=FULL");
    // Another server on the same data directory may hold the write lock for a moment.
    sqlite3_busy_timeout(db_, 5000);
    Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    Exec(
        "CREATE TABLE IF NOT EXISTS voices ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,"
        " prompt_seconds REAL NOT NULL, transcript TEXT NOT NULL, source TEXT NOT NULL,"
        " frontend_id TEXT NOT NULL, mel_bins INTEGER NOT NULL, speech_tokens BLOB NOT NULL,"
        " speaker_embedding BLOB NOT NULL, prompt_mel BLOB NOT NULL)");
    Statement version(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (version.Step() == SQLITE_ROW) {
      if (version.Text(0) != std::to_string(kSchemaVersion))
        throw ApiException(StoreError("schema version " + version.Text(0) + " is not " +
                                      std::to_string(kSchemaVersion) + " (written by another release)"));
    } else {
      Exec("INSERT INTO meta (key, value) VALUES ('schema_version', '" + std::to_string(kSchemaVersion) +
           "')");
    }
  }
  void Exec(const std::string &sql) {
    char *err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string why = err ? err : "unknown error";
      sqlite3_free(err);
      throw ApiException(StoreError(why));
    }
  }
  static VoiceRecord Record(const Statement &q) {
    VoiceRecord r;
    r.id = q.Text(0);
    r.name = q.Text(1);
    r.created = q.Int(2);
    r.prompt_seconds = q.Real(3);
    r.transcript = q.Text(4);
    r.frontend_id = q.Text(5);
    return r;
  }
  std::optional<VoiceRecord> FindLocked(const std::string &key) const {
    Statement q(db_,
                "SELECT id, name, created, prompt_seconds, transcript, frontend_id FROM voices WHERE id = ?1 "
                "OR name = ?1 "
                "ORDER BY (id = ?1) DESC LIMIT 1");
    q.Bind(1, key);
    if (q.Step() != SQLITE_ROW) return std::nullopt;
    return Record(q);
  }
  size_t CountLocked() const {
    Statement q(db_, "SELECT COUNT(*) FROM voices");
    q.Step();
    return static_cast<size_t>(q.Int(0));
  }
  void Remember(const std::string &id, std::shared_ptr<const Voice> v) const {
    cache_[id] = std::move(v);
    order_.push_back(id);
    while (order_.size() > kCachedVoices) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
  }
  ApiError Full() const {
    ApiError e = StoreError("the voice library is full (" + std::to_string(max_) +
                            " voices, --max-voices); delete some first");
    e.status = 507;
    e.code = "store_full";
    return e;
  }

  const size_t max_;
  std::string path_;
  sqlite3 *db_ = nullptr;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Voice>> cache_;
  mutable std::list<std::string> order_;
};

}  // namespace

std::unique_ptr<VoiceStore> OpenSqliteVoiceStore(const std::string &data_dir, size_t max_voices) {
  return std::make_unique<SqliteVoiceStore>(data_dir, max_voices);
}

}  // namespace cosyvoice::server
