// src/engine/stream_scheduler.cc
#include "engine/stream_scheduler.h"

#include <algorithm>
#include <string>

#include "cosyvoice/error.h"

namespace cosyvoice {

void StreamSchedule::Validate() const {
  auto fail = [](const std::string &m) { throw Error(ErrorCode::kInvalidArgument, "stream schedule: " + m); };
  if (token_hop_len < 1) fail("token_hop_len must be >= 1, got " + std::to_string(token_hop_len));
  if (token_max_hop_len < token_hop_len) fail("token_max_hop_len must be >= token_hop_len");
  if (stream_scale_factor < 1) fail("stream_scale_factor must be >= 1");
  if (pre_lookahead < 0) fail("pre_lookahead must be >= 0");
  if (chunk_tokens < 1) fail("chunk_tokens must be >= 1");
  if (early_first_hop < 0) fail("early_first_hop must be >= 0");
}

StreamScheduler::StreamScheduler(const StreamSchedule &schedule, int prompt_tokens)
    : schedule_(schedule), hop_(schedule.token_hop_len) {
  schedule_.Validate();
  if (prompt_tokens < 0) throw Error(ErrorCode::kInvalidArgument, "stream schedule: negative prompt length");
  const int chunk = schedule_.chunk_tokens;
  pad_ = (prompt_tokens + chunk - 1) / chunk * chunk - prompt_tokens;
  const int early = schedule_.early_first_hop;
  first_hop_ = early > 0 && pad_ >= early ? pad_ : hop_ + pad_;
}

std::optional<StreamChunk> StreamScheduler::Next(int available) {
  const int hop_now = HopNow();
  if (available - offset_ < hop_now + schedule_.pre_lookahead) return std::nullopt;
  StreamChunk c;
  c.offset = offset_;
  c.hop = hop_now;
  c.end = offset_ + hop_now + schedule_.pre_lookahead;
  c.final = false;
  offset_ += hop_now;
  // int64 so a huge factor cannot overflow before the cap applies
  hop_ = static_cast<int>(std::min<long long>(schedule_.token_max_hop_len,
                                              static_cast<long long>(hop_) * schedule_.stream_scale_factor));
  return c;
}

int StreamScheduler::TokensToNextChunk(int available) const {
  return std::max(0, HopNow() + schedule_.pre_lookahead - (available - offset_));
}

StreamChunk StreamScheduler::Final(int available) const {
  StreamChunk c;
  c.offset = offset_;
  c.end = std::max(available, offset_);
  c.hop = c.end - offset_;
  c.final = true;
  return c;
}

}  // namespace cosyvoice
