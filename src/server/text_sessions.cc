// src/server/text_sessions.cc - see text_sessions.h.
#include "server/text_sessions.h"

#include <random>

#include "common/log.h"
#include "server/api_error.h"
#include "server/speech_request.h"
#include "server/synthesis_response.h"

namespace cosyvoice::server {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(200);  // how often a waiting NextPiece checks stop()

// 128 random bits: the id is what lets a client add text to a session, so it must not be guessable.
std::string NewSessionId() {
  static std::mutex mutex;
  static std::random_device device;
  std::lock_guard<std::mutex> lock(mutex);
  static const char *hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    const uint32_t v = device();
    for (int b = 0; b < 8; ++b) id += hex[(v >> (4 * b)) & 15];
  }
  return id;
}

}  // namespace

TextSession::TextSession(std::string id, size_t max_chars, Clock::duration idle)
    : id_(std::move(id)), max_chars_(max_chars), idle_(idle) {}

size_t TextSession::Append(const std::string &text, bool end) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_) throw ApiException(Conflict("", "this session was cancelled", "session_cancelled"));
  if (ended_)
    throw ApiException(
        Conflict("",
                 "this session's text has ended (\"end\": true was sent, or no text came for " +
                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(idle_).count()) +
                     " s); open a new session",
                 "text_ended"));
  const size_t chars = CountCodePoints(text);
  if (chars_ + chars > max_chars_)
    throw ApiException(BadRequest("text",
                                  "the session's text would be " + std::to_string(chars_ + chars) +
                                      " characters, more than the server's limit of " +
                                      std::to_string(max_chars_) +
                                      " (--max-text-chars); end this session and open another",
                                  "text_too_long"));
  chars_ += chars;
  buffer_.Append(text);
  ended_ = end;
  last_text_ = Clock::now();
  cv_.notify_all();
  return chars_;
}

void TextSession::Cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = ended_ = true;
  cv_.notify_all();
}

bool TextSession::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

bool TextSession::TakeAudio() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (audio_taken_) return false;
  audio_taken_ = true;
  return true;
}

bool TextSession::NextPiece(std::string &piece, const std::function<bool()> &stop) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (cancelled_) return false;
    piece = buffer_.TakeReady();
    if (!piece.empty()) return true;
    if (ended_) {
      piece = buffer_.TakeRest();
      return !piece.empty();
    }
    if (stop()) return false;
    if (Clock::now() - last_text_ >= idle_) {
      COSY_LOG(kWarning) << "text session " << id_ << ": no text for "
                         << std::chrono::duration_cast<std::chrono::seconds>(idle_).count()
                         << " s: its text counts as ended";
      ended_ = true;
      continue;
    }
    cv_.wait_for(lock, kPoll);
  }
}

void TextSession::MarkFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  finished_ = true;
}

bool TextSession::Disposable(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_ || cancelled_) return true;
  // Text idle and nobody reading the audio: the client went away before asking for it.
  return !audio_taken_ && now - last_text_ >= idle_;
}

TextSessions::TextSessions(size_t max_sessions, size_t max_chars, double idle_seconds)
    : max_sessions_(max_sessions), max_chars_(max_chars), idle_seconds_(idle_seconds) {}

void TextSessions::DropDisposable() {
  const auto now = TextSession::Clock::now();
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->second.session->Disposable(now) ? sessions_.erase(it) : std::next(it);
}

TextSessions::Entry TextSessions::Open(std::shared_ptr<SpeechJob> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  DropDisposable();
  if (sessions_.size() >= max_sessions_) {
    ApiError e;
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "too_many_sessions";
    e.message = "the server has " + std::to_string(max_sessions_) +
                " text sessions open (--max-text-sessions); end one (\"end\": true or DELETE) or retry later";
    throw ApiException(e);
  }
  const auto idle =
      std::chrono::duration_cast<TextSession::Clock::duration>(std::chrono::duration<double>(idle_seconds_));
  auto session = std::make_shared<TextSession>(NewSessionId(), max_chars_, idle);
  job->text_session = session;
  Entry entry{session, std::move(job)};
  sessions_.emplace(session->id(), entry);
  return entry;
}

TextSessions::Entry TextSessions::Find(const std::string &id) {
  std::lock_guard<std::mutex> lock(mutex_);
  DropDisposable();
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    throw ApiException(NotFound("", "no open text session '" + id + "' (it ended, was cancelled or expired)",
                                "session_not_found"));
  return it->second;
}

void TextSessions::Close(const std::string &id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  it->second.session->Cancel();
  sessions_.erase(it);
}

size_t TextSessions::open() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

}  // namespace cosyvoice::server
