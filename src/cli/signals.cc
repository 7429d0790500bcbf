// src/cli/signals.cc - see signals.h.
#include "cli/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>

#include "common/atomic_file.h"

namespace cosyvoice::cli {
namespace {

std::atomic<int> g_received{0};
std::mutex g_mutex;  // guards the two functions below
std::function<void()> g_cancel;
std::function<void()> g_print_cancelled;

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

void PrintCancelledLocked() {
  if (g_print_cancelled) {
    g_print_cancelled();
  } else {
    static const char kLine[] = "cosyvoice: cancelled\n";
    std::fwrite(kLine, 1, sizeof(kLine) - 1, stderr);
    std::fflush(stderr);
  }
}

void WatchLoop() {
  const sigset_t set = WatchedSignals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    const bool first = g_received.exchange(sig) == 0;
    std::unique_lock<std::mutex> lock(g_mutex);
    if (first && g_cancel) {
      g_cancel();  // the command unwinds and main ends the process
      continue;
    }
    RemoveUncommittedFiles();
    PrintCancelledLocked();
    lock.unlock();
    SignalWatcher::ExitBySignal(sig);
  }
}

}  // namespace

void SignalWatcher::Install() {
  const sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(WatchLoop).detach();
}

int SignalWatcher::Received() {
  return g_received.load();
}

void SignalWatcher::SetCancelledPrinter(std::function<void()> print) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_print_cancelled = std::move(print);
}

void SignalWatcher::ExitBySignal(int signal) {
  std::fflush(stdout);
  std::fflush(stderr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(signal, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signal);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(signal);
  _exit(128 + signal);  // not reached: the default action of SIGINT/SIGTERM ends the process
}

CancelScope::CancelScope(std::function<void()> cancel) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cancel = std::move(cancel);
}

CancelScope::~CancelScope() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cancel = nullptr;
}

}  // namespace cosyvoice::cli
