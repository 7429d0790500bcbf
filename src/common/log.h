// src/common/log.h - minimal leveled logging to stderr.
//   COSY_LOG(kInfo) << "loaded " << n << " graphs";
#pragma once

#include <sstream>

namespace cosyvoice {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kSilent = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool LogEnabled(LogLevel level);

// Where finished lines go instead of stderr (the C API's cosyvoice_log_set): `message` has no level
// prefix and no newline. nullptr restores stderr. Once SetLogSink returns, the previous sink is not
// running and is not called again. A line logged from inside the sink goes to stderr.
using LogSink = void (*)(LogLevel level, const char *message, void *user_data);
void SetLogSink(LogSink sink, void *user_data);

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
