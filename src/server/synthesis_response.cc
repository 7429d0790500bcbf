// src/server/synthesis_response.cc - see synthesis_response.h.
#include "server/synthesis_response.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "audio/audio_io.h"
#include "audio/encoder.h"
#include "common/log.h"

namespace cosyvoice::server {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(200);

std::string Base64(const std::string &in) {
  static const char *k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                       static_cast<uint8_t>(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Moves a job's audio through an encoder into the response, from the cpp-httplib thread.
class AudioStream {
 public:
  AudioStream(ServerState &state, CallPtr call, std::shared_ptr<Job> job,
              std::shared_ptr<const SpeechJob> spec, std::vector<float> first)
      : state_(state),
        call_(std::move(call)),
        job_(std::move(job)),
        spec_(std::move(spec)),
        first_(std::move(first)) {
    AudioEncoder::Config config;
    config.format = spec_->request.format;
    config.sample_rate = state_.backend->sample_rate();
    config.streaming = spec_->request.transport != Transport::kWhole;
    encoder_ = AudioEncoder::Create(config, [this](const uint8_t *p, size_t n) {
      pending_.append(reinterpret_cast<const char *>(p), n);
    });
  }

  // The content provider: runs until the job ends or the client goes away.
  bool Pump(httplib::DataSink &sink) {
    try {
      if (!first_.empty()) {
        encoder_->Write(first_.data(), first_.size());
        first_.clear();
        if (!Flush(sink)) return Abort(Disconnected(), "disconnect");
      }
      std::vector<float> audio;
      for (;;) {
        const auto now = Clock::now();
        switch (job_->Next(audio, std::min(job_->deadline(), now + kPoll))) {
          case Job::Event::kAudio:
            encoder_->Write(audio.data(), audio.size());
            if (!Flush(sink)) return Abort(Disconnected(), "disconnect");
            break;
          case Job::Event::kWaiting:
            if (!sink.is_writable()) return Abort(Disconnected(), "disconnect");
            if (job_->Expired(Clock::now())) return Abort(Timeout(), "deadline", &sink);
            break;
          case Job::Event::kDone:
            encoder_->Finish();
            if (!Flush(sink)) return Abort(Disconnected(), "disconnect");
            if (Sse()) WriteEvent(sink, DoneEvent());
            completed_ = true;
            sink.done();
            return true;
          case Job::Event::kFailed: return Abort(job_->error(), "", &sink);
        }
      }
    } catch (const Error &e) {  // the encoder refused the audio (non-finite samples) or failed
      return Abort(FromEngineError(e), "", &sink);
    }
  }

  // The resource releaser: the response is over, one way or another.
  void Done() {
    if (!completed_ && !aborted_) job_->Cancel(Disconnected());
    const double rate = state_.backend->sample_rate();
    call_->audio_seconds = static_cast<double>(encoder_->samples_written()) / rate;
    call_->first_audio_seconds = job_->first_audio_seconds();
    if (completed_) {
      const SynthesisStats st = job_->stats();
      const double total = std::chrono::duration<double>(Clock::now() - call_->start).count();
      state_.metrics.ObserveSynthesis(job_->first_audio_seconds(), total, call_->audio_seconds,
                                      st.tokens_per_second(), st.speech_tokens, st.stream_cache_fallbacks);
    } else {
      call_->status = aborted_ ? abort_status_ : 499;
    }
    state_.router->Finish(*call_);
  }

 private:
  bool Sse() const { return spec_->request.transport == Transport::kSse; }

  bool Flush(httplib::DataSink &sink) {
    if (pending_.empty()) return true;
    const bool ok =
        Sse() ? WriteEvent(sink, nlohmann::json{{"type", "speech.audio.delta"}, {"audio", Base64(pending_)}})
              : sink.write(pending_.data(), pending_.size());
    pending_.clear();
    return ok;
  }

  static bool WriteEvent(httplib::DataSink &sink, const nlohmann::json &event) {
    const std::string line =
        "data: " + event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
    return sink.write(line.data(), line.size());
  }

  nlohmann::json DoneEvent() const {
    const int64_t input = state_.backend->CountTokens(spec_->request.text + spec_->request.instruct);
    const int64_t output = job_->stats().speech_tokens;
    return {
        {"type", "speech.audio.done"},
        {"usage", {{"input_tokens", input}, {"output_tokens", output}, {"total_tokens", input + output}}}};
  }

  // Ends the response early. SSE clients get an error event and a clean end; the others a
  // truncated chunked body (returning false makes cpp-httplib drop the connection).
  bool Abort(const ApiError &why, const std::string &reject_reason, httplib::DataSink *sink = nullptr) {
    job_->Cancel(why);
    aborted_ = true;
    abort_status_ = why.status;
    if (!reject_reason.empty()) state_.metrics.CountRejected(reject_reason);
    if (why.status >= 500 && why.status != 504)
      COSY_LOG(kWarning) << call_->id << ": synthesis failed after the first audio: " << why.message;
    if (sink != nullptr && Sse()) {
      WriteEvent(*sink,
                 nlohmann::json{{"type", "error"}, {"error", nlohmann::json::parse(why.ToJson())["error"]}});
      sink->done();
      return true;
    }
    return false;
  }

  ServerState &state_;
  CallPtr call_;
  std::shared_ptr<Job> job_;
  std::shared_ptr<const SpeechJob> spec_;
  std::vector<float> first_;
  std::unique_ptr<AudioEncoder> encoder_;
  std::string pending_;  // encoder output not yet sent
  bool completed_ = false, aborted_ = false;
  int abort_status_ = 500;
};

void RunSpeech(const SpeechJob &spec, EngineWorker &worker, Job &job) {
  // A text session is finished when its synthesis ends, however it ends.
  struct FinishSession {
    TextSession *session;
    ~FinishSession() {
      if (session != nullptr) session->MarkFinished();
    }
  } finish{spec.text_session.get()};
  std::shared_ptr<const Voice> voice = spec.voice;
  if (!voice)
    voice = std::make_shared<const Voice>(
        worker.CreateVoice(*spec.prompt, spec.prompt_transcript, spec.prompt_name));
  SynthesisRequest r;
  r.mode = ResolveMode(spec.request, *voice);
  r.text = spec.request.text;
  r.instruct = spec.request.instruct;
  r.voice = voice.get();
  r.source_audio = spec.source.get();
  if (r.mode == Mode::kVoiceConversion && r.source_audio == nullptr)
    throw ApiException(BadRequest(
        "source_audio", "voice conversion needs the source recording (field source_audio)", "missing_field"));
  TextSession *session = spec.text_session.get();
  if (session != nullptr)
    r.text_source = [session, &job](std::string &piece) {
      return session->NextPiece(piece, [&job] { return job.cancelled(); });
    };
  SynthesisStats stats;
  worker.Stream(
      r, spec.request.options,
      [&job, session](const AudioChunk &c) {
        if (session != nullptr && session->cancelled()) return false;  // DELETE on the session
        return job.Push(c.samples, c.num_samples);
      },
      &stats);
  job.SetStats(stats);
}

std::shared_ptr<Job> Submit(ServerState &state, const CallPtr &call, Job::Work work, size_t buffered) {
  state.CheckAccepting();
  const auto deadline = call->start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(state.config.timeout_seconds));
  auto job = std::make_shared<Job>(std::move(work), deadline, buffered);
  if (!state.pool->Submit(job)) {
    state.metrics.CountRejected("queue_full");
    const int retry = state.pool->RetryAfterSeconds();
    call->res.set_header("Retry-After", std::to_string(retry));
    throw ApiException(QueueFull(retry));
  }
  return job;
}

}  // namespace

void RespondWithSpeech(ServerState &state, const CallPtr &call, std::shared_ptr<const SpeechJob> spec) {
  const int rate = state.backend->sample_rate();
  if (!spec->request.options.stream_mode) {  // the server's --stream-mode
    auto with_default = std::make_shared<SpeechJob>(*spec);
    with_default->request.options.stream_mode = ParseStreamMode(state.config.stream_mode);
    spec = with_default;
  }
  auto job = Submit(
      state, call, [spec](EngineWorker &worker, Job &j) { RunSpeech(*spec, worker, j); },
      static_cast<size_t>(rate) * 30);

  // Wait for the first audio (or the end) before committing to a status.
  std::vector<float> first;
  for (;;) {
    const auto event = job->Next(first, std::min(job->deadline(), Clock::now() + kPoll));
    if (event == Job::Event::kAudio || event == Job::Event::kDone) break;
    if (event == Job::Event::kFailed) throw ApiException(job->error());
    if (job->Expired(Clock::now())) {
      job->Cancel(Timeout());
      state.metrics.CountRejected("deadline");
      throw ApiException(Timeout());
    }
  }

  const AudioFormat format = spec->request.format;
  const bool sse = spec->request.transport == Transport::kSse;
  auto &res = call->res;
  if (spec->sample_rate_header) res.set_header("X-Sample-Rate", std::to_string(rate));
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass chunks through as they come
  if (!sse)
    res.set_header("Content-Disposition",
                   std::string("attachment; filename=\"speech.") + AudioFormatName(format) + "\"");
  const std::string type = sse ? "text/event-stream" : AudioMimeType(format, rate);
  auto stream = std::make_shared<AudioStream>(state, call, job, spec, std::move(first));
  call->deferred = true;
  res.set_chunked_content_provider(
      type, [stream](size_t, httplib::DataSink &sink) { return stream->Pump(sink); },
      [stream](bool) { stream->Done(); });
}

std::shared_ptr<const Audio> DecodeUpload(const std::string &param, const std::string &filename,
                                          const std::string &bytes, double max_seconds) {
  const std::string name = filename.empty() ? param : filename;
  try {
    auto audio = std::make_shared<Audio>(DecodeAudio(bytes.data(), bytes.size(), name));
    AudioRequirements req;
    req.max_seconds = max_seconds;
    CheckAudio(*audio, name, req);
    return audio;
  } catch (const Error &e) {
    throw ApiException(BadRequest(param, e.what(), "invalid_audio"));
  }
}

void RunOnWorker(ServerState &state, const CallPtr &call, const std::function<void(EngineWorker &)> &work) {
  auto job = Submit(
      state, call, [work](EngineWorker &worker, Job &) { work(worker); }, 1);
  std::vector<float> unused;
  for (;;) {
    const auto event = job->Next(unused, std::min(job->deadline(), Clock::now() + kPoll));
    if (event == Job::Event::kDone) return;
    if (event == Job::Event::kFailed) throw ApiException(job->error());
    if (job->Expired(Clock::now())) {
      job->Cancel(Timeout());
      state.metrics.CountRejected("deadline");
      throw ApiException(Timeout());
    }
  }
}

}  // namespace cosyvoice::server
