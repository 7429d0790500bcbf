// src/cli/progress.cc - see progress.h.
#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/log.h"

namespace cosyvoice::cli {
namespace {

std::string Seconds(double s) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(s < 10 ? 2 : 1);
  os << s << " s";
  return os.str();
}

int TerminalColumns(std::FILE *out) {
  struct winsize ws {};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

std::string FormatClock(double seconds) {
  const long long s = seconds > 0 && std::isfinite(seconds) ? static_cast<long long>(seconds) : 0;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  return buf;
}

// ---- SynthesisProgress ------------------------------------------------------------------------------

void SynthesisProgress::OnAudio(double now, int segment, int num_segments, size_t samples, int rate,
                                bool segment_done) {
  num_segments_ = num_segments;
  current_segment_ = segment;
  if (rate > 0) audio_seconds_ += static_cast<double>(samples) / rate;
  if (segment_done) {
    segments_done_ = std::min(segment + 1, num_segments);
    last_done_at_ = now;
  }
}

std::optional<double> SynthesisProgress::remaining(double now) const {
  if (num_segments_ == 0 || segments_done_ == 0) return std::nullopt;
  const int left = num_segments_ - segments_done_;
  if (left <= 0) return 0.0;
  const double per_segment = (last_done_at_ - start_) / segments_done_;
  const double in_current = now - last_done_at_;
  // The segment under way counts as started: what it already took comes off, but the ones not yet
  // started are still ahead in full.
  return std::max(per_segment * left - in_current, per_segment * (left - 1));
}

double SynthesisProgress::rtf(double now) const {
  return audio_seconds_ > 0 ? elapsed(now) / audio_seconds_ : 0.0;
}

// ---- ProgressReporter ---------------------------------------------------------------------------------

ProgressStyle PickProgressStyle(bool quiet, bool json) {
  if (json) return ProgressStyle::kJson;
  if (quiet) return ProgressStyle::kQuiet;
  return ::isatty(STDERR_FILENO) ? ProgressStyle::kTerminal : ProgressStyle::kPlain;
}

ProgressReporter::ProgressReporter(ProgressStyle style, std::FILE *out)
    : style_(style), out_(out), origin_(std::chrono::steady_clock::now()) {
  if (style_ == ProgressStyle::kTerminal) ticker_ = std::thread([this] { TickerLoop(); });
}

ProgressReporter::~ProgressReporter() {
  if (captures_log_) SetLogSink(nullptr);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    ClearStatusLocked();
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

double ProgressReporter::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin_).count();
}

void ProgressReporter::CaptureLog() {
  captures_log_ = true;
  SetLogSink([this](LogLevel level, const std::string &message) {
    if (level >= LogLevel::kWarning) {
      Warning(message);
    } else if (style_ == ProgressStyle::kJson) {
      EmitJson(level == LogLevel::kDebug ? "debug" : "info", {{"message", message}});
    } else if (style_ != ProgressStyle::kQuiet || level >= LogLevel::kError) {
      PrintLine(level == LogLevel::kDebug ? "debug: " + message : message);
    }
  });
}

void ProgressReporter::BeginStep(const std::string &event, const std::string &doing) {
  std::lock_guard<std::mutex> lock(mutex_);
  step_event_ = event;
  step_doing_ = doing;
  step_start_ = Now();
  if (style_ == ProgressStyle::kPlain) {
    std::fprintf(out_, "[cosyvoice] %s\n", doing.c_str());
    std::fflush(out_);
  } else if (style_ == ProgressStyle::kTerminal) {
    RedrawLocked();
  }
}

void ProgressReporter::EndStep(const std::string &done, nlohmann::json fields) {
  double took = 0;
  std::string event;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    took = Now() - step_start_;
    event = step_event_;
    step_doing_.clear();
    step_event_.clear();
    ClearStatusLocked();
  }
  if (style_ == ProgressStyle::kJson) {
    fields["seconds"] = took;
    EmitJson(event, std::move(fields));
  } else {
    PrintLine(done + " in " + Seconds(took));
  }
}

void ProgressReporter::Note(const std::string &event, const std::string &text, nlohmann::json fields) {
  if (style_ == ProgressStyle::kJson)
    EmitJson(event, std::move(fields));
  else
    PrintLine(text);
}

void ProgressReporter::Warning(const std::string &text) {
  if (style_ == ProgressStyle::kJson)
    EmitJson("warning", {{"message", text}});
  else if (style_ != ProgressStyle::kQuiet)
    PrintLine("warning: " + text);
}

void ProgressReporter::StartSynthesis() {
  std::lock_guard<std::mutex> lock(mutex_);
  synthesizing_ = true;
  synthesis_start_ = Now();
  synthesis_ = SynthesisProgress(synthesis_start_);
  if (style_ == ProgressStyle::kTerminal) RedrawLocked();
}

double ProgressReporter::SynthesisSeconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return Now() - synthesis_start_;
}

void ProgressReporter::Audio(int segment, int num_segments, size_t samples, int rate, bool segment_done) {
  std::string line;
  nlohmann::json fields;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const double now = Now();
    synthesis_.OnAudio(now, segment, num_segments, samples, rate, segment_done);
    if (style_ == ProgressStyle::kTerminal) {
      RedrawLocked();
      return;
    }
    if (!segment_done || style_ == ProgressStyle::kQuiet) return;
    const auto left = synthesis_.remaining(now);
    if (style_ == ProgressStyle::kJson) {
      fields = {{"segment", segment + 1},
                {"segments", num_segments},
                {"audio_seconds", synthesis_.audio_seconds()},
                {"elapsed_seconds", synthesis_.elapsed(now)}};
      if (left) fields["remaining_seconds"] = *left;
    } else {
      line = "segment " + std::to_string(segment + 1) + "/" + std::to_string(num_segments) +
             " done: " + Seconds(synthesis_.audio_seconds()) + " of audio, " +
             FormatClock(synthesis_.elapsed(now)) + " elapsed" +
             (left && *left > 0 ? ", about " + FormatClock(*left) + " left" : "");
    }
  }
  if (style_ == ProgressStyle::kJson)
    EmitJson("segment", std::move(fields));
  else
    PrintLine(line);
}

void ProgressReporter::Summary(const std::string &text, nlohmann::json fields) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    synthesizing_ = false;
    ClearStatusLocked();
  }
  if (style_ == ProgressStyle::kJson)
    EmitJson("done", std::move(fields));
  else if (style_ != ProgressStyle::kQuiet)
    PrintLine(text);
}

void ProgressReporter::Error(int exit_code, const std::string &text) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    synthesizing_ = false;
    step_doing_.clear();
    ClearStatusLocked();
  }
  if (style_ == ProgressStyle::kJson) {
    EmitJson("error", {{"exit_code", exit_code}, {"message", text}});
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }
}

void ProgressReporter::Cancelled(const std::string &text) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    synthesizing_ = false;
    step_doing_.clear();
    ClearStatusLocked();
  }
  if (style_ == ProgressStyle::kJson) {
    EmitJson("cancelled", {{"message", text}});
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }
}

void ProgressReporter::PrintLine(const std::string &line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (style_ == ProgressStyle::kQuiet) return;
  const bool had_status = status_shown_;
  ClearStatusLocked();
  std::fprintf(out_, "%s%s\n", style_ == ProgressStyle::kPlain ? "[cosyvoice] " : "", line.c_str());
  if (had_status || !step_doing_.empty() || synthesizing_) RedrawLocked();
  std::fflush(out_);
}

void ProgressReporter::EmitJson(const std::string &event, nlohmann::json fields) {
  nlohmann::json j = {{"event", event}, {"time", Now()}};
  for (auto &[k, v] : fields.items()) j[k] = v;
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

std::string ProgressReporter::StatusTextLocked() const {
  const double now = Now();
  if (!step_doing_.empty()) return step_doing_ + "... " + FormatClock(now - step_start_);
  if (!synthesizing_) return "";
  const SynthesisProgress &p = synthesis_;
  if (p.num_segments() == 0) return "synthesizing... " + FormatClock(p.elapsed(now));
  std::string s = "synthesizing: segment " +
                  std::to_string(std::min(p.segments_done() + 1, p.num_segments())) + "/" +
                  std::to_string(p.num_segments()) + ", " + Seconds(p.audio_seconds()) + " of audio, " +
                  FormatClock(p.elapsed(now)) + " elapsed";
  const auto left = p.remaining(now);
  if (left && *left > 0) s += ", about " + FormatClock(*left) + " left";
  return s;
}

void ProgressReporter::RedrawLocked() {
  if (style_ != ProgressStyle::kTerminal) return;
  std::string text = StatusTextLocked();
  if (text.empty()) {
    ClearStatusLocked();
    return;
  }
  const size_t width = static_cast<size_t>(std::max(20, TerminalColumns(out_) - 1));
  if (text.size() > width) text.resize(width);  // a wrapped line could not be redrawn in place
  std::fprintf(out_, "\r\033[K%s", text.c_str());
  std::fflush(out_);
  status_shown_ = true;
}

void ProgressReporter::ClearStatusLocked() {
  if (!status_shown_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  status_shown_ = false;
}

void ProgressReporter::TickerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(500));
    if (!stop_ && (!step_doing_.empty() || synthesizing_)) RedrawLocked();
  }
}

}  // namespace cosyvoice::cli
