// src/cli/signals.h - Ctrl-C and SIGTERM for the cosyvoice tool.
//
// Install() (first thing in main, before any thread exists) blocks SIGINT and SIGTERM in the main
// thread, so every thread created later (ONNX Runtime's pools included) inherits the block, and
// starts one thread that waits for them with sigwait(). When one arrives:
//  - while a CancelScope is alive (synthesis is running), its function is called (Session::Cancel):
//    the engine stops at its next checkpoint, the command unwinds - an unfinished output file is
//    removed, the previous file stays - prints "cancelled", and main ends the process by the same
//    signal (ExitBySignal), so a shell sees 130 (SIGINT) or 143 (SIGTERM) and a script loop stops;
//  - otherwise (loading the model, preparing a voice), or at a second signal, the watcher removes
//    the uncommitted temporary files, prints "cancelled" and ends the process by the signal at once.
#pragma once

#include <functional>
#include <string>

namespace cosyvoice::cli {

class SignalWatcher {
 public:
  static void Install();
  // The signal received so far (SIGINT, SIGTERM) or 0.
  static int Received();
  // How a cancellation is announced when the watcher itself ends the process (default: a line on
  // stderr; the progress reporter replaces it, e.g. with a JSON event).
  static void SetCancelledPrinter(std::function<void()> print);
  // Restores the default action of `signal`, unblocks it and raises it: the process ends as killed
  // by that signal. Flushes stdout first.
  [[noreturn]] static void ExitBySignal(int signal);
};

// While alive, a signal calls `cancel` (from the watcher thread) instead of ending the process.
class CancelScope {
 public:
  explicit CancelScope(std::function<void()> cancel);
  ~CancelScope();
  CancelScope(const CancelScope &) = delete;
  CancelScope &operator=(const CancelScope &) = delete;
};

}  // namespace cosyvoice::cli
