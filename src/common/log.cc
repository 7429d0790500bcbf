// src/common/log.cc
#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace cosyvoice {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

// The sink is called with g_sink_mutex held, so that SetLogSink can promise the old sink has
// finished; g_in_sink sends a line logged from inside the sink to stderr instead of deadlocking.
std::mutex g_sink_mutex;
std::atomic<bool> g_has_sink{false};
thread_local bool g_in_sink = false;
LogSink &Sink() {
  static LogSink sink;
  return sink;
}

bool SendToSink(LogLevel level, const std::string &message) {
  if (!g_has_sink.load(std::memory_order_acquire) || g_in_sink) return false;
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  if (!Sink()) return false;
  g_in_sink = true;
  Sink()(level, message);  // called from ~LogMessage (noexcept): a sink must not throw
  g_in_sink = false;
  return true;
}

const char *Prefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "[cosyvoice debug] ";
    case LogLevel::kInfo: return "[cosyvoice] ";
    case LogLevel::kWarning: return "[cosyvoice warning] ";
    case LogLevel::kError: return "[cosyvoice error] ";
    case LogLevel::kSilent: break;
  }
  return "";
}
}  // namespace

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level));
}
LogLevel GetLogLevel() {
  return static_cast<LogLevel>(g_level.load());
}
bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load();
}

void SetLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  g_has_sink.store(static_cast<bool>(sink), std::memory_order_release);
  Sink() = std::move(sink);
}

LogMessage::~LogMessage() {
  if (SendToSink(level_, stream_.str())) return;
  std::string line = Prefix(level_) + stream_.str() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines from threads do not interleave
}

}  // namespace cosyvoice
