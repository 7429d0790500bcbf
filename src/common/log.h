// src/common/log.h - minimal leveled logging to stderr.
//   COSY_LOG(kInfo) << "loaded " << n << " graphs";
#pragma once

#include <functional>
#include <sstream>
#include <string>

namespace cosyvoice {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kSilent = 4 };

// Where finished lines go (default: stderr with a "[cosyvoice] " prefix). A program that draws its
// own status line (the CLI's progress display) installs a sink to print messages around it; `message`
// has no prefix and no newline. nullptr restores the default. The sink may be called from any thread
// (one call at a time). Once SetLogSink returns, the previous sink is not running and is not called
// again (the C API's cosyvoice_log_set relies on it). A line logged from inside the sink goes to stderr.
using LogSink = std::function<void(LogLevel level, const std::string &message)>;
void SetLogSink(LogSink sink);

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool LogEnabled(LogLevel level);

// Accumulates one message and writes it (with a level prefix) as a single line when destroyed.
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage();
  LogMessage(const LogMessage &) = delete;
  LogMessage &operator=(const LogMessage &) = delete;
  std::ostream &stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the streamed expression into void so that COSY_LOG is a single expression (safe in an
// unbraced if/else, unlike an `if (...) else` macro).
struct LogVoidify {
  void operator&(std::ostream &) {}
};

}  // namespace cosyvoice

#define COSY_LOG(level)                                  \
  !::cosyvoice::LogEnabled(::cosyvoice::LogLevel::level) \
      ? (void)0                                          \
      : ::cosyvoice::LogVoidify() & ::cosyvoice::LogMessage(::cosyvoice::LogLevel::level).stream()
