// tests/golden/test_session.cc - one Model shared by concurrent Sessions, and Session::Cancel, on
// the tiny model (models/tiny, `make tiny-model`).
//
// Every comparison here is exact (bit-identical samples): a request must not depend on what other
// requests run at the same time on the same Model, nor on what its Session ran before. All runs of
// a test share one process, one Model and therefore one ONNX Runtime thread pool (2 threads, so
// the shared pool really is shared), which is what makes exact equality a valid expectation.
// `make test-tsan` runs this file under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "audio/audio_io.h"
#include "engine/model_impl.h"
#include "goldens.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::GoldensDir;
using testing::Load;

// One-shot signal between two threads.
class Signal {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// A request with everything it points to.
struct Job {
  std::string name;
  Voice voice;
  Audio source;
  SynthesisRequest request;
  SynthesisOptions options;
  void Bind() {  // pointers into this object (call after it stops moving)
    request.voice = &voice;
    if (request.mode == Mode::kVoiceConversion) request.source_audio = &source;
  }
};

// What a request produced: the samples and how they were chunked.
struct Output {
  std::vector<float> samples;
  std::vector<size_t> chunks;
};

bool BitIdentical(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ModelConfig c;
    c.model_dir = testing::BundleDir().string();
    // COSYVOICE_TEST_THREADS (default 1). Under ThreadSanitizer it must stay 1: ONNX Runtime is an
    // uninstrumented library, and its pool threads' own locking shows up as false reports
    // (tests/tsan.supp); the concurrency under test is our four sessions on four threads.
    c.runtime.intra_op_threads = testing::TestThreads();
    testing::ApplyTestProviders(c.runtime);
    model_ = new std::shared_ptr<const Model>(Model::Load(c));
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static const std::shared_ptr<const Model> &model() { return *model_; }

  // The voice as the reference prepared it (goldens/prompts/<name>).
  static Voice GoldenVoice(const std::string &name, bool with_transcript) {
    const auto d = GoldensDir() / "prompts" / name;
    Voice v;
    v.speech_tokens = Load<int32_t>(d / "speech_tokens.npy");
    v.speaker_embedding = Load<float>(d / "embedding.npy");
    v.prompt_mel = Load<float>(d / "prompt_mel.npy");
    v.mel_bins = 80;
    v.source = name;
    if (with_transcript) {
      std::ifstream in(d / "transcript.txt");
      v.transcript.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return v;
  }

  // Four different requests: every mode, different texts, seeds and lengths, one streamed.
  static std::vector<Job> FourRequests() {
    std::vector<Job> jobs(4);
    jobs[0].name = "zero_shot";
    jobs[0].voice = GoldenVoice("front_center", true);
    jobs[0].request.mode = Mode::kZeroShot;
    jobs[0].request.text = "Hello world, this is the first request.";
    jobs[0].options.seed = 11;
    jobs[0].options.min_tokens = jobs[0].options.max_tokens = 40;

    jobs[1].name = "cross_lingual_stream";
    jobs[1].voice = GoldenVoice("synth_16k", false);
    jobs[1].request.mode = Mode::kCrossLingual;
    jobs[1].request.text = "今天天气不错，我们去公园散步吧。";
    jobs[1].options.seed = 22;
    jobs[1].options.stream = true;
    jobs[1].options.min_tokens = jobs[1].options.max_tokens = 120;  // several chunks

    jobs[2].name = "instruct2";
    jobs[2].voice = GoldenVoice("long_22k", false);
    jobs[2].request.mode = Mode::kInstruct2;
    jobs[2].request.instruct = "Speak slowly.";
    jobs[2].request.text = "A third text, spoken slowly. And a second sentence.";
    jobs[2].options.seed = 33;
    jobs[2].options.speed = 1.25f;
    jobs[2].options.min_tokens = jobs[2].options.max_tokens = 30;

    jobs[3].name = "vc";
    jobs[3].voice = GoldenVoice("long_22k", false);
    jobs[3].request.mode = Mode::kVoiceConversion;
    jobs[3].source = ReadAudio(GoldensDir() / "cases" / "vc" / "source.wav");
    for (Job &j : jobs) {
      j.options.text_normalization = false;
      j.Bind();
    }
    return jobs;
  }

  static Output Run(Session &session, const Job &job) {
    Output o;
    const Audio a = session.Synthesize(job.request, job.options, [&](const AudioChunk &c) {
      o.chunks.push_back(c.num_samples);
      return true;
    });
    o.samples = a.samples;
    return o;
  }
  static Output RunAlone(const Job &job) {
    Session s(model());
    return Run(s, job);
  }

  static std::shared_ptr<const Model> *model_;
};
std::shared_ptr<const Model> *SessionTest::model_ = nullptr;

TEST_F(SessionTest, FourConcurrentRequestsEqualTheSameRequestsAlone) {
  const std::vector<Job> jobs = FourRequests();
  const Audio prompt = ReadAudio(GoldensDir() / "prompts" / "front_center" / "prompt.wav");

  // Concurrently first, on a Model whose frontend graphs are not loaded yet: the voice-conversion
  // request and the CreateVoice call race to load the speech tokenizer.
  std::vector<Output> together(jobs.size());
  Voice voice_together;
  std::atomic<int> ready{0};
  auto start_together = [&] {  // all threads begin at once
    ready.fetch_add(1);
    while (ready.load() < static_cast<int>(jobs.size()) + 1) std::this_thread::yield();
  };
  std::vector<std::thread> threads;
  std::vector<std::string> errors(jobs.size() + 1);
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] {
      Session session(model());  // one per thread
      start_together();
      try {
        together[i] = Run(session, jobs[i]);
      } catch (const std::exception &e) {
        errors[i] = e.what();
      }
    });
  }
  threads.emplace_back([&] {
    start_together();
    try {
      voice_together = model()->CreateVoice(prompt, "Front center.", "front_center");
    } catch (const std::exception &e) {
      errors.back() = e.what();
    }
  });
  for (auto &t : threads) t.join();
  for (const auto &e : errors) ASSERT_EQ(e, "");

  // Then each alone.
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Output alone = RunAlone(jobs[i]);
    ASSERT_FALSE(alone.samples.empty()) << jobs[i].name;
    EXPECT_TRUE(BitIdentical(together[i].samples, alone.samples))
        << jobs[i].name << ": " << together[i].samples.size() << " vs " << alone.samples.size() << " samples";
    EXPECT_EQ(together[i].chunks, alone.chunks) << jobs[i].name;
  }
  EXPECT_GE(together[1].chunks.size(), 3u) << "the streamed request should give several chunks";
  const Voice voice_alone = model()->CreateVoice(prompt, "Front center.", "front_center");
  EXPECT_EQ(voice_together.speech_tokens, voice_alone.speech_tokens);
  EXPECT_TRUE(BitIdentical(voice_together.speaker_embedding, voice_alone.speaker_embedding));
  EXPECT_TRUE(BitIdentical(voice_together.prompt_mel, voice_alone.prompt_mel));
}

// The same on the quantized tiny bundle's float32 variants: the fused LLM graph and the vocoder on
// this project's operators (WinogradConv1d, Snake: per-thread scratch, weights shared read-only by
// every session), four sessions at once as above, each equal bit for bit to its request alone.
TEST_F(SessionTest, FourConcurrentRequestsOnTheProjectsOperatorsEqualTheSameRequestsAlone) {
  ModelConfig c;
  c.model_dir = (testing::TinyDir() / "bundle-q").string();
  c.runtime.intra_op_threads = testing::TestThreads();
  c.precision = "fp32";
  const std::shared_ptr<const Model> variants = Model::Load(c);
  bool winograd = false;
  for (const auto &p : variants->info().precisions)
    winograd |= p.family == "hift" && p.variant == "fp32-winograd";
  ASSERT_TRUE(winograd) << "bundle-q should have the hift/fp32-winograd variant (make tiny-model)";
  std::vector<Job> jobs = FourRequests();
  jobs.pop_back();  // voice conversion: its frontend graphs are the base bundle's, covered above
  std::vector<Output> together(jobs.size());
  std::vector<std::string> errors(jobs.size());
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] {
      Session session(variants);
      ready.fetch_add(1);
      while (ready.load() < static_cast<int>(jobs.size())) std::this_thread::yield();
      try {
        together[i] = Run(session, jobs[i]);
      } catch (const std::exception &e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto &t : threads) t.join();
  for (size_t i = 0; i < jobs.size(); ++i) {
    ASSERT_EQ(errors[i], "") << jobs[i].name;
    Session alone(variants);
    const Output a = Run(alone, jobs[i]);
    ASSERT_FALSE(a.samples.empty()) << jobs[i].name;
    EXPECT_TRUE(BitIdentical(together[i].samples, a.samples)) << jobs[i].name;
    EXPECT_EQ(together[i].chunks, a.chunks) << jobs[i].name;
  }
}

TEST_F(SessionTest, CancelFromAnotherThreadStopsTheRequestAndTheSessionIsReusable) {
  const std::vector<Job> jobs = FourRequests();
  const Job &streamed = jobs[1];
  const Output reference = RunAlone(streamed);
  ASSERT_GE(reference.chunks.size(), 3u);

  Session session(model());
  // A longer request first, so the session's KV cache and buffers hold another request's data.
  const Output first = Run(session, jobs[0]);
  ASSERT_FALSE(first.samples.empty());

  // The first chunk's callback hands control to the main thread, which cancels; the request must
  // stop at its next checkpoint (the next LLM token) without emitting another chunk.
  Signal first_chunk, cancelled;
  std::vector<size_t> chunks;
  ErrorCode code = ErrorCode::kRuntime;
  std::string message;
  std::thread worker([&] {
    try {
      session.Synthesize(streamed.request, streamed.options, [&](const AudioChunk &c) {
        chunks.push_back(c.num_samples);
        if (chunks.size() == 1) {
          first_chunk.Notify();
          cancelled.Wait();
        }
        return true;
      });
      message = "finished without being cancelled";
    } catch (const Error &e) {
      code = e.code();
      message = e.what();
    }
  });
  first_chunk.Wait();
  session.Cancel();
  cancelled.Notify();
  worker.join();
  EXPECT_EQ(code, ErrorCode::kCancelled) << message;
  EXPECT_EQ(chunks.size(), 1u);

  // The same session serves the next requests exactly as a fresh one.
  const Output again = Run(session, streamed);
  EXPECT_TRUE(BitIdentical(again.samples, reference.samples));
  EXPECT_EQ(again.chunks, reference.chunks);
  const Output vc = Run(session, jobs[3]);
  EXPECT_TRUE(BitIdentical(vc.samples, RunAlone(jobs[3]).samples));
}

// Cancellation lands anywhere: during the voice's prompt-cache build, in the middle of a chunk's
// ODE steps, in the vocoder window, between chunks. Cancel() is called at spread-out times over a
// streamed request (exact and fast); wherever it lands, the request must stop with kCancelled having
// emitted at most one chunk after Cancel() returned (the chunk already past its last checkpoint),
// and the same Session's next request must be bit-identical to a fresh Session's: a chunk
// interrupted between ODE steps must leave no half-appended keys/values behind.
TEST_F(SessionTest, CancelMidChunkStopsWithinOneChunkAndLeavesTheSessionClean) {
  std::vector<Job> jobs = FourRequests();
  for (StreamMode mode : {StreamMode::kExact, StreamMode::kFast}) {
    Job job = jobs[1];
    job.options.stream_mode = mode;
    job.Bind();
    const auto t0 = std::chrono::steady_clock::now();
    const Output reference = RunAlone(job);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_GE(reference.chunks.size(), 3u);
    int cancelled_runs = 0;
    for (int i = 0; i < 4; ++i) {
      Session session(model());
      std::atomic<int> chunks{0};
      ErrorCode code = ErrorCode::kRuntime;
      bool finished = false;
      std::thread worker([&] {
        try {
          session.Synthesize(job.request, job.options, [&](const AudioChunk &c) {
            chunks += c.num_samples > 0;
            return true;
          });
          finished = true;
        } catch (const Error &e) {
          code = e.code();
        }
      });
      // (not at 0: a Cancel() before the request starts is cleared by its start)
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds * (0.05 + i / 4.0)));
      session.Cancel();
      const int at_cancel = chunks.load();
      worker.join();
      const std::string what = std::string(StreamModeName(mode)) + " cancel " + std::to_string(i);
      if (finished) continue;  // finished before the Cancel (a slow start elsewhere)
      ++cancelled_runs;
      EXPECT_EQ(code, ErrorCode::kCancelled) << what;
      EXPECT_LE(chunks.load() - at_cancel, 1) << what << ": chunks emitted after Cancel() returned";
      const Output again = Run(session, job);
      EXPECT_TRUE(BitIdentical(again.samples, reference.samples)) << what;
      EXPECT_EQ(again.chunks, reference.chunks) << what;
    }
    EXPECT_GE(cancelled_runs, 1) << StreamModeName(mode) << ": every request finished before its Cancel()";
  }
}

TEST_F(SessionTest, CancelBeforeAStartIsClearedByTheNextRequest) {
  const std::vector<Job> jobs = FourRequests();
  Session session(model());
  session.Cancel();
  const Output o = Run(session, jobs[2]);
  EXPECT_TRUE(BitIdentical(o.samples, RunAlone(jobs[2]).samples));
}

TEST_F(SessionTest, CallbackReturningFalseCancels) {
  const std::vector<Job> jobs = FourRequests();
  Session session(model());
  int calls = 0;
  EXPECT_COSY_ERROR(session.Synthesize(jobs[1].request, jobs[1].options,
                                       [&](const AudioChunk &) {
                                         ++calls;
                                         return false;
                                       }),
                    ErrorCode::kCancelled, "cancelled by the callback");
  EXPECT_EQ(calls, 1);
}

TEST_F(SessionTest, FlowStopsAtTheNextOdeStepOnceCancelled) {
  const Model::Impl &m = model()->impl();
  const Voice voice = GoldenVoice("front_center", true);
  FlowInput in = Model::Impl::PromptFlowInput(voice);
  in.tokens.assign(20, 7);
  std::atomic<bool> flag{true};
  int64_t frames = 0;
  FlowStats stats;
  EXPECT_COSY_ERROR(m.flow->Run(in, FlowOptions{}, &frames, &stats, CancelToken(&flag)),
                    ErrorCode::kCancelled, "cancelled");
  EXPECT_EQ(stats.steps, 0);
  flag = false;
  EXPECT_NO_THROW(m.flow->Run(in, FlowOptions{}, &frames, &stats, CancelToken(&flag)));
  EXPECT_EQ(stats.steps, FlowOptions{}.n_timesteps);
}

TEST_F(SessionTest, StreamKeepsNoCopyAndGivesWhatSynthesizeGives) {
  const std::vector<Job> jobs = FourRequests();
  Session session(model());
  for (const Job &job : {jobs[1], jobs[2]}) {
    Job j = job;
    j.Bind();
    std::vector<float> streamed;
    session.Stream(j.request, j.options, [&](const AudioChunk &c) {
      streamed.insert(streamed.end(), c.samples, c.samples + c.num_samples);
      return true;
    });
    EXPECT_TRUE(BitIdentical(streamed, Run(session, j).samples)) << j.name;
  }
  EXPECT_COSY_ERROR(session.Stream(jobs[0].request, jobs[0].options, nullptr), ErrorCode::kInvalidArgument,
                    "a callback is required");
}

// SynthesisStats::first_chunk_*: a streamed request's first audio split into when its first chunk's
// last token arrived and that chunk's flow and vocoder time - in order, before the audio left, so
// they add up to no more than first_audio_seconds; the tokens come after the LLM's prefill (text)
// or the source's tokenizer (voice conversion). Every stream mode; nothing when not streamed.
TEST_F(SessionTest, FirstChunkTimesSplitTheFirstAudio) {
  const std::vector<Job> jobs = FourRequests();
  Session session(model());
  for (const Job &job : {jobs[1], jobs[3]}) {
    for (StreamMode mode : {StreamMode::kRecompute, StreamMode::kExact, StreamMode::kFast}) {
      Job j = job;
      j.options.stream = true;
      j.options.stream_mode = mode;
      j.Bind();
      SynthesisStats st;
      session.Stream(
          j.request, j.options, [](const AudioChunk &) { return true; }, &st);
      SCOPED_TRACE(j.name + " " + StreamModeName(mode));
      EXPECT_GT(st.first_chunk_flow_seconds, 0);
      EXPECT_GT(st.first_chunk_vocoder_seconds, 0);
      if (j.request.mode == Mode::kVoiceConversion)
        EXPECT_GE(st.first_chunk_tokens_seconds, st.seconds.frontend);
      else
        EXPECT_GE(st.first_chunk_tokens_seconds, st.seconds.llm_prefill);
      EXPECT_GT(st.first_chunk_tokens_seconds, 0);
      EXPECT_LE(st.first_chunk_tokens_seconds + st.first_chunk_flow_seconds + st.first_chunk_vocoder_seconds,
                st.first_audio_seconds + 1e-9);
      // the flow and vocoder time of the whole request include the first chunk's
      EXPECT_LE(st.first_chunk_flow_seconds, st.seconds.flow);
      EXPECT_LE(st.first_chunk_vocoder_seconds, st.seconds.vocoder);
    }
  }
  SynthesisStats offline;
  session.Synthesize(jobs[0].request, jobs[0].options, nullptr, &offline);
  EXPECT_GT(offline.first_audio_seconds, 0);
  EXPECT_EQ(offline.first_chunk_tokens_seconds, 0);
  EXPECT_EQ(offline.first_chunk_flow_seconds, 0);
  EXPECT_EQ(offline.first_chunk_vocoder_seconds, 0);
}

TEST_F(SessionTest, OneSessionRefusesASecondConcurrentRequest) {
  const std::vector<Job> jobs = FourRequests();
  Session session(model());
  Signal in_callback, tried;
  std::thread worker([&] {
    session.Synthesize(jobs[1].request, jobs[1].options, [&](const AudioChunk &c) {
      if (c.segment_done) return true;
      in_callback.Notify();
      tried.Wait();
      return true;
    });
  });
  in_callback.Wait();
  EXPECT_COSY_ERROR(session.Synthesize(jobs[0].request, jobs[0].options), ErrorCode::kInvalidArgument,
                    "already running a request");
  tried.Notify();
  worker.join();
  EXPECT_COSY_ERROR(Session(nullptr), ErrorCode::kInvalidArgument, "model is null");
}

}  // namespace
}  // namespace cosyvoice
