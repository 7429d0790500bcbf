// src/engine/silent_token_filter.cc
#include "engine/silent_token_filter.h"

#include <algorithm>
#include <string>
#include <utility>

#include "cosyvoice/error.h"

namespace cosyvoice {

SilentTokenFilter::SilentTokenFilter(std::vector<int> silent_tokens, int max_run)
    : silent_(std::move(silent_tokens)), max_run_(max_run) {
  if (max_run_ < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "silent-token filter: max_run must be >= 0, got " + std::to_string(max_run_));
  }
}

bool SilentTokenFilter::Push(int token) {
  const bool silent = std::find(silent_.begin(), silent_.end(), token) != silent_.end();
  run_ = silent ? run_ + 1 : 0;
  return !(silent && run_ > max_run_);
}

}  // namespace cosyvoice
