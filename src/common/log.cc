// src/common/log.cc
#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace cosyvoice {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

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

LogMessage::~LogMessage() {
  std::string line = Prefix(level_) + stream_.str() + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write: lines from threads do not interleave
}

}  // namespace cosyvoice
