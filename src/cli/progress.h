// src/cli/progress.h - what a long command tells the user while it works.
//
// SynthesisProgress is the arithmetic (segments done, audio so far, elapsed time, time left), kept
// apart from any output so that it is tested on its own. ProgressReporter shows it in one of four
// ways, picked once per command:
//   terminal  stderr is a terminal: one status line redrawn in place (with a clock that keeps
//             running during model load and voice preparation), finished steps printed above it;
//   plain     stderr is a file or pipe: one line per finished step, nothing redrawn;
//   json      --json: one JSON object per line on stderr ({"event": ...}), for scripts;
//   quiet     -q: nothing (errors are printed by main).
// Library log lines (warnings) go through the reporter too, so they never break the status line or
// the JSON stream.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace cosyvoice::cli {

// "0:07", "1:05", "1:02:03" (hours only when needed); negative values print as 0:00.
std::string FormatClock(double seconds);

// Progress of one synthesis, fed with the audio chunks as they arrive. Times are seconds on any
// clock, as long as it is the same for every call.
class SynthesisProgress {
 public:
  explicit SynthesisProgress(double start) : start_(start) {}

  // A chunk of `samples` samples at `rate` Hz of segment `segment` (0-based) of `num_segments`;
  // `segment_done`: the last chunk of that segment.
  void OnAudio(double now, int segment, int num_segments, size_t samples, int rate, bool segment_done);

  int segments_done() const { return segments_done_; }
  int num_segments() const { return num_segments_; }        // 0 until the first chunk
  int current_segment() const { return current_segment_; }  // 0-based
  double audio_seconds() const { return audio_seconds_; }
  double elapsed(double now) const { return now - start_; }
  // Seconds left, assuming the segments still to come take as long on average as those done. Empty
  // before the first segment is done, and 0 once every segment is.
  std::optional<double> remaining(double now) const;
  // Elapsed time per second of audio so far (the real-time factor); 0 before any audio.
  double rtf(double now) const;

 private:
  double start_;
  double last_done_at_ = 0;  // when the latest segment finished
  int segments_done_ = 0;
  int num_segments_ = 0;
  int current_segment_ = 0;
  double audio_seconds_ = 0;
};

enum class ProgressStyle { kTerminal, kPlain, kJson, kQuiet };
// kJson when `json`, else kQuiet when `quiet`, else kTerminal when stderr is a terminal, else kPlain.
ProgressStyle PickProgressStyle(bool quiet, bool json);

class ProgressReporter {
 public:
  // `out` is stderr in the tool; tests pass a temporary file.
  explicit ProgressReporter(ProgressStyle style, std::FILE *out = stderr);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter &) = delete;
  ProgressReporter &operator=(const ProgressReporter &) = delete;

  ProgressStyle style() const { return style_; }

  // A step that takes a while ("loading the model from B"): on a terminal the status line shows it
  // with a running clock until EndStep, which prints `done` ("model X loaded") with the time taken.
  // `fields` are added to the JSON event.
  void BeginStep(const std::string &event, const std::string &doing);
  void EndStep(const std::string &done, nlohmann::json fields = nlohmann::json::object());

  // A one-line fact ("mode zero_shot, seed 42"), printed in every style but quiet.
  void Note(const std::string &event, const std::string &text,
            nlohmann::json fields = nlohmann::json::object());
  void Warning(const std::string &text);

  // Synthesis: Start once, then Audio for every chunk the engine delivers.
  void StartSynthesis();
  void Audio(int segment, int num_segments, size_t samples, int rate, bool segment_done);
  const SynthesisProgress &synthesis() const { return synthesis_; }
  double SynthesisSeconds() const;

  // The last line: `text` for people, `fields` for --json (event "done").
  void Summary(const std::string &text, nlohmann::json fields);
  // An error or a cancellation, as the last line (JSON: event "error" / "cancelled").
  void Error(int exit_code, const std::string &text);
  void Cancelled(const std::string &text);

  // Routes library log lines (COSY_LOG) through this reporter until destroyed.
  void CaptureLog();

 private:
  double Now() const;
  void PrintLine(const std::string &line);  // above the status line
  void EmitJson(const std::string &event, nlohmann::json fields);
  void RedrawLocked();  // the status line, mutex held
  void ClearStatusLocked();
  std::string StatusTextLocked() const;
  void TickerLoop();

  const ProgressStyle style_;
  std::FILE *out_;
  const std::chrono::steady_clock::time_point origin_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
  bool stop_ = false;
  bool status_shown_ = false;
  std::string step_doing_;  // the step under way, "" when none
  std::string step_event_;
  double step_start_ = 0;
  bool synthesizing_ = false;
  double synthesis_start_ = 0;
  SynthesisProgress synthesis_{0};
  bool captures_log_ = false;
};

}  // namespace cosyvoice::cli
