// src/server/worker_pool.cc - see worker_pool.h.
#include "server/worker_pool.h"

#include <algorithm>
#include <cmath>

#include "common/log.h"

namespace cosyvoice::server {
namespace {

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

Job::Job(Work work, Clock::time_point deadline, size_t max_buffered_samples)
    : work_(std::move(work)), deadline_(deadline), max_buffered_(std::max<size_t>(max_buffered_samples, 1)) {}

void Job::Run(EngineWorker &worker) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_ || state_ != State::kQueued) return;  // ended while queued
    if (Clock::now() >= deadline_) {
      error_ = Timeout();
      state_ = State::kFailed;
      cv_.notify_all();
      return;
    }
    state_ = State::kRunning;
    worker_ = &worker;
    started_ = Clock::now();
  }
  ApiError failure;
  bool failed = false;
  try {
    work_(worker, *this);
  } catch (const ApiException &e) {
    failure = e.error();
    failed = true;
  } catch (const Error &e) {
    failure = FromEngineError(e);
    failed = true;
  } catch (const std::exception &e) {
    failure.message = std::string("internal error: ") + e.what();
    failed = true;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  worker_ = nullptr;
  if (state_ == State::kRunning) {
    if (failed || cancelled_) {
      // A cancelled job keeps the reason given to Cancel (disconnect, deadline, shutdown).
      if (!cancelled_) error_ = failure;
      state_ = State::kFailed;
    } else {
      state_ = State::kDone;
    }
  }
  cv_.notify_all();
}

bool Job::Push(const float *samples, size_t count) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return cancelled_ || buffer_.size() < max_buffered_; });
  if (cancelled_) return false;
  if (!has_audio_ && count > 0) {
    has_audio_ = true;
    first_audio_ = Clock::now();
  }
  buffer_.insert(buffer_.end(), samples, samples + count);
  cv_.notify_all();
  return true;
}

void Job::SetStats(const SynthesisStats &stats) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_ = stats;
}

Job::Event Job::Next(std::vector<float> &out, Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_until(lock, until,
                 [&] { return !buffer_.empty() || state_ == State::kDone || state_ == State::kFailed; });
  if (!buffer_.empty()) {
    out.swap(buffer_);
    buffer_.clear();
    cv_.notify_all();  // room for the worker
    return Event::kAudio;
  }
  if (state_ == State::kDone) return Event::kDone;
  if (state_ == State::kFailed) return Event::kFailed;
  return Event::kWaiting;
}

void Job::Cancel(const ApiError &why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_ || state_ == State::kDone || state_ == State::kFailed) return;
  cancelled_ = true;
  error_ = why;
  if (state_ == State::kQueued) state_ = State::kFailed;
  if (worker_ != nullptr) worker_->Cancel();
  cv_.notify_all();
}

bool Job::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

ApiError Job::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

SynthesisStats Job::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

double Job::queue_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == State::kQueued || started_ == Clock::time_point{} ? 0.0 : Seconds(started_ - submitted_);
}

double Job::first_audio_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return has_audio_ ? Seconds(first_audio_ - submitted_) : 0.0;
}

// ---- WorkerPool ------------------------------------------------------------------------------------

WorkerPool::WorkerPool(const EngineBackend &backend, int workers, int queue_capacity)
    : queue_capacity_(std::max(0, queue_capacity)) {
  for (int i = 0; i < std::max(1, workers); ++i) engines_.push_back(backend.NewWorker());
  for (auto &engine : engines_) threads_.emplace_back([this, w = engine.get()] { Loop(*w); });
}

WorkerPool::~WorkerPool() {
  Stop();
}

bool WorkerPool::Submit(std::shared_ptr<Job> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return false;
  // A free worker takes the job at once; otherwise it waits in the queue if there is room.
  const size_t idle = engines_.size() - running_.size();
  if (queue_.size() >= idle + static_cast<size_t>(queue_capacity_)) return false;
  queue_.push_back(std::move(job));
  cv_.notify_one();
  return true;
}

int WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(queue_.size());
}

int WorkerPool::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(running_.size());
}

int WorkerPool::RetryAfterSeconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  // The whole queue has to drain through the workers before a new job would start.
  const double wait =
      mean_job_seconds_ * static_cast<double>(queue_.size() + 1) / static_cast<double>(engines_.size());
  return std::max(1, static_cast<int>(std::ceil(wait)));
}

void WorkerPool::CancelAll(const ApiError &why) {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs.assign(queue_.begin(), queue_.end());
    jobs.insert(jobs.end(), running_.begin(), running_.end());
  }
  for (auto &job : jobs) job->Cancel(why);
}

bool WorkerPool::WaitIdle(Clock::time_point until) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_cv_.wait_until(lock, until, [&] { return queue_.empty() && running_.empty(); });
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ApiError why;
  why.status = 503;
  why.type = "server_error";
  why.code = "shutting_down";
  why.message = "the server is shutting down";
  CancelAll(why);
  cv_.notify_all();
  for (auto &t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WorkerPool::Loop(EngineWorker &worker) {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      running_.push_back(job);
    }
    const auto start = Clock::now();
    job->Run(worker);
    const double seconds = Seconds(Clock::now() - start);
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(std::find(running_.begin(), running_.end(), job));
    mean_job_seconds_ = 0.8 * mean_job_seconds_ + 0.2 * seconds;
    if (queue_.empty() && running_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace cosyvoice::server
