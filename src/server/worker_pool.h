// src/server/worker_pool.h - N workers on one shared model, a bounded queue, and jobs that hand
// audio from a worker to the HTTP thread that answers the client.
//
// A Job carries a piece of work (synthesis or voice preparation) and a bounded channel of output
// samples. The worker pushes audio as the engine produces it; the HTTP thread waits for it and
// writes it out. Either side can end the job: the HTTP thread cancels it when the client goes away
// or the deadline passes (the engine stops at its next checkpoint, Session::Cancel), and the worker
// blocks while the channel is full, so a slow client holds back its own job and nothing else.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/api_error.h"
#include "server/engine_port.h"

namespace cosyvoice::server {

using Clock = std::chrono::steady_clock;

class Job {
 public:
  using Work = std::function<void(EngineWorker &worker, Job &job)>;
  // `max_buffered_samples`: how much audio may wait for the client before the worker blocks.
  Job(Work work, Clock::time_point deadline, size_t max_buffered_samples = 30 * 24000);

  // ---- worker side ----
  // Runs the work on `worker`; errors end the job as failed. Called by the pool.
  void Run(EngineWorker &worker);
  // Hands audio to the client side; blocks while the channel is full. False when the job was
  // cancelled (the engine callback returns it, which stops synthesis).
  bool Push(const float *samples, size_t count);
  void SetStats(const SynthesisStats &stats);

  // ---- client side ----
  enum class Event { kAudio, kDone, kFailed, kWaiting };
  // Waits until audio is available (moved into `out`), the job ended, or `until` passed (kWaiting).
  // After kDone every sample has been delivered.
  Event Next(std::vector<float> &out, Clock::time_point until);
  // Ends the job: a queued job never starts, a running one stops at the next checkpoint.
  void Cancel(const ApiError &why);
  bool Expired(Clock::time_point now) const { return now >= deadline_; }
  Clock::time_point deadline() const { return deadline_; }

  // After the job ended.
  ApiError error() const;
  SynthesisStats stats() const;
  // Seconds from submission to start (queue wait) and to the first pushed audio (0 when none).
  double queue_seconds() const;
  double first_audio_seconds() const;

  bool cancelled() const;

 private:
  enum class State { kQueued, kRunning, kDone, kFailed };
  void Fail(const ApiError &error);

  Work work_;
  const Clock::time_point submitted_ = Clock::now();
  const Clock::time_point deadline_;
  const size_t max_buffered_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  State state_ = State::kQueued;
  bool cancelled_ = false;
  EngineWorker *worker_ = nullptr;  // while running, for Cancel
  std::vector<float> buffer_;
  ApiError error_;
  SynthesisStats stats_;
  Clock::time_point started_, first_audio_;
  bool has_audio_ = false;
};

class WorkerPool {
 public:
  // Creates `workers` engine workers (each with its own Session) and starts their threads.
  WorkerPool(const EngineBackend &backend, int workers, int queue_capacity);
  ~WorkerPool();
  WorkerPool(const WorkerPool &) = delete;
  WorkerPool &operator=(const WorkerPool &) = delete;

  // Queues the job; false when `queue_capacity` jobs already wait (the caller answers 429).
  bool Submit(std::shared_ptr<Job> job);

  int workers() const { return static_cast<int>(threads_.size()); }
  int queue_capacity() const { return queue_capacity_; }
  int queued() const;
  int running() const;
  // Seconds until a slot is likely free, for Retry-After (>= 1).
  int RetryAfterSeconds() const;
  // Cancels every queued and running job (shutdown after the grace period).
  void CancelAll(const ApiError &why);
  // Waits until nothing is queued or running, or `until`; true when idle.
  bool WaitIdle(Clock::time_point until);
  // Stops the workers (after cancelling what is left) and joins them.
  void Stop();

 private:
  void Loop(EngineWorker &worker);

  const int queue_capacity_;
  std::vector<std::unique_ptr<EngineWorker>> engines_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::shared_ptr<Job>> running_;
  bool stopping_ = false;
  double mean_job_seconds_ = 1.0;  // exponential moving average, for Retry-After
};

}  // namespace cosyvoice::server
