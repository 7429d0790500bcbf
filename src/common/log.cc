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
std::mutex g_sink_mutex;
LogSink &Sink() {
  static LogSink sink;
  return sink;
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
  Sink() = std::move(sink);
}

LogMessage::~LogMessage() {
  {
    std::lock_guard<std::mutex> lock(g_sink_mutex);
    if (Sink()) {
      Sink()(level_, stream_.str());
      return;
    }
  }
  std::string line = Prefix(level_) + stream_.str() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines from threads do not interleave
}

}  // namespace cosyvoice
