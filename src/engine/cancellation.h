// src/engine/cancellation.h - cooperative cancellation of a running request.
#pragma once

#include <atomic>

#include "cosyvoice/error.h"

namespace cosyvoice {

// A view of a flag that another thread may set (Session::Cancel). The synthesis loops call
// Check() at their checkpoints - every LLM token, flow ODE step and audio chunk - which throws
// Error(kCancelled) once the flag is set. A default-constructed token never cancels.
class CancelToken {
 public:
  CancelToken() = default;
  explicit CancelToken(const std::atomic<bool> *flag) : flag_(flag) {}

  bool cancelled() const { return flag_ != nullptr && flag_->load(std::memory_order_relaxed); }
  void Check() const {
    if (cancelled()) throw Error(ErrorCode::kCancelled, "synthesis cancelled");
  }

 private:
  const std::atomic<bool> *flag_ = nullptr;
};

}  // namespace cosyvoice
