// src/engine/token_channel.h - speech tokens from the decoding thread to the rendering thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>

namespace cosyvoice {

// One event of the token stream: a speech token of a segment, or the segment's end.
struct TokenEvent {
  int segment = 0;
  int token = 0;
  bool end = false;  // the segment has no more tokens
};

// The producer/consumer hand-off of a request (docs/streaming.md §8): the LLM thread pushes tokens
// and segment ends and does not wait for rendering, except for the first-audio limit below; it
// starts a segment at most `lookahead` segments ahead of the one being rendered (Produce waits for
// that), which bounds what is queued; the rendering thread pops. Either side can stop the other:
// Close (the producer is done, or failed with an exception the consumer rethrows) and Abort (the
// consumer stopped: the producer's next Push/Produce returns false).
//
// First-audio priority: until the first chunk of a streamed request is out, decoding tokens that
// chunk does not need only takes CPU from the chunk's flow and vocoder (on 2 cores the LLM thread
// and the renderer halve each other's speed). The consumer therefore sets a limit - the tokens it
// still needs for its next chunk - and Push waits while that many are queued; a limit of 0 holds
// the producer while the chunk renders; no limit (-1) lets it run free. The producer waits only on
// tokens already queued, so the consumer can always pop them: a token the consumer drops (the
// silent-token filter) shrinks the queue and frees the producer.
// Whether that priority pays: the LLM thread and the renderer compete for the CPU when they share
// ONNX Runtime's pool workers (any intra-op pool size but 1; 0 is one per core) or when the machine
// has one CPU. With a pool of 1 each runs its graphs on its own thread, and on two or more CPUs
// holding the LLM back only idles a core: the chunk after the first then came ~0.4 s later
// (docs/streaming.md §8.4).
inline bool FirstAudioPriorityPays(int intra_op_threads, unsigned cpus) {
  return intra_op_threads != 1 || cpus < 2;
}

class TokenChannel {
 public:
  explicit TokenChannel(int lookahead = 1) : lookahead_(lookahead) {}

  // Producer: waits until `segment` may start (at most `lookahead` ahead of the consumer). False
  // once aborted.
  bool Produce(int segment) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return aborted_ || segment <= rendering_ + lookahead_; });
    return !aborted_;
  }
  // Producer: queues `e`, then waits while the consumer's limit says it has all it needs. False
  // once aborted.
  bool Push(const TokenEvent &e) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (aborted_) return false;
    events_.push_back(e);
    cv_.notify_all();
    cv_.wait(lock, [&] { return aborted_ || limit_ < 0 || static_cast<int>(events_.size()) < limit_; });
    return !aborted_;
  }
  // Producer: no more events; `error` (if any) is rethrown to the consumer after the queued events.
  void Close(std::exception_ptr error = nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    error_ = error;
    cv_.notify_all();
  }

  // Consumer: the next event; false when the producer closed and everything was popped (then
  // rethrows the producer's error, if any).
  bool Pop(TokenEvent *e) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !events_.empty() || closed_; });
    if (events_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return false;
    }
    *e = events_.front();
    events_.pop_front();
    cv_.notify_all();  // a producer waiting on the limit may go on
    return true;
  }
  // Consumer: rendering reached `segment` (lets the producer start the next ones).
  void Rendering(int segment) {
    std::lock_guard<std::mutex> lock(mutex_);
    rendering_ = segment;
    cv_.notify_all();
  }
  // Consumer: the producer may run until `tokens` events are queued (0: hold it now; -1: no limit,
  // the default).
  void LimitProducer(int tokens) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = tokens;
    cv_.notify_all();
  }
  // Consumer: stop the producer (its next Push/Produce returns false).
  void Abort() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
    cv_.notify_all();
  }
  bool aborted() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return aborted_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<TokenEvent> events_;
  int lookahead_;
  int rendering_ = 0;
  int limit_ = -1;
  bool closed_ = false, aborted_ = false;
  std::exception_ptr error_;
};

}  // namespace cosyvoice
