// src/server/text_sessions.h - text-in streaming over HTTP (issue #11 item 4; docs/server.md
// "Text-in streaming"): a client opens a session, sends its text in pieces while it is still being
// written (an LLM agent's reply), and reads the speech from a second request as it is produced.
//
// cpp-httplib answers a request only after its body has been read, so one request cannot carry text
// up and audio down at the same time; the session splits them into routes that share an id:
//   POST   /v1/audio/speech/sessions            -> 201 {id, text_url, audio_url}
//   POST   /v1/audio/speech/sessions/{id}/text  {"text": "...", "end": false}
//   GET    /v1/audio/speech/sessions/{id}/audio -> the speech, chunked, while text arrives
//   DELETE /v1/audio/speech/sessions/{id}       -> cancels
// Every session is bounded: the number open at once, the text of one (the server's text limit), and
// how long its text may stall (then the text counts as ended and the speech finishes).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "text/text_pieces.h"

namespace cosyvoice::server {

struct SpeechJob;

class TextSession {
 public:
  using Clock = std::chrono::steady_clock;
  TextSession(std::string id, size_t max_chars, Clock::duration idle);

  const std::string &id() const { return id_; }

  // ---- the text route ----
  // Appends `text` (whole UTF-8 characters) and, with `end`, closes the text. Returns the number of
  // characters received so far. ApiException 409 after the end, 400 past the session's text limit.
  size_t Append(const std::string &text, bool end);
  // DELETE: ends the text and makes the running synthesis stop at its next chunk.
  void Cancel();
  bool cancelled() const;

  // ---- the audio route ----
  // True the first time only: the speech can be read once.
  bool TakeAudio();

  // ---- the synthesis (engine's TextSource, on a decoding thread) ----
  // The next piece of text, cut after a word (text::TextPieceBuffer); waits for text to arrive.
  // False at the end of the text, on Cancel, when `stop()` says so (the job was cancelled), or when
  // no text came for the idle time (then the text counts as ended, with one log line).
  bool NextPiece(std::string &piece, const std::function<bool()> &stop);
  void MarkFinished();

  // For the registry: a session is dropped when its synthesis finished, or when its text has not
  // moved for the idle time and no synthesis reads it.
  bool Disposable(Clock::time_point now) const;

 private:
  const std::string id_;
  const size_t max_chars_;
  const Clock::duration idle_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  text::TextPieceBuffer buffer_;
  size_t chars_ = 0;
  bool ended_ = false, cancelled_ = false, audio_taken_ = false, finished_ = false;
  Clock::time_point last_text_ = Clock::now();
};

class TextSessions {
 public:
  TextSessions(size_t max_sessions, size_t max_chars, double idle_seconds);

  // A session and the synthesis it feeds (job->text_session is the session; the session does not
  // point back, so nothing keeps the pair alive but this registry and a running synthesis).
  struct Entry {
    std::shared_ptr<TextSession> session;
    std::shared_ptr<const SpeechJob> job;
  };
  // Opens a session for `job` and sets job->text_session. ApiException 429 when `max_sessions`
  // are open.
  Entry Open(std::shared_ptr<SpeechJob> job);
  // ApiException 404 for an unknown, finished or expired id.
  Entry Find(const std::string &id);
  void Close(const std::string &id);
  size_t open() const;
  double idle_seconds() const { return idle_seconds_; }

 private:
  void DropDisposable();  // with mutex_ held

  const size_t max_sessions_, max_chars_;
  const double idle_seconds_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> sessions_;
};

}  // namespace cosyvoice::server
