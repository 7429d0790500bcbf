// src/engine/synthesis.cc - a request as named steps: check -> plan segments -> per segment:
// generate tokens -> filter silent tokens -> schedule chunks, render mel, vocode -> emit.
#include <algorithm>
#include <string>
#include <thread>

#include "audio/audio_io.h"
#include "common/log.h"
#include "common/timer.h"
#include "engine/bistream_decoder.h"
#include "engine/segment_renderer.h"
#include "engine/session_state.h"
#include "engine/silent_token_filter.h"
#include "engine/streaming_state.h"
#include "engine/token_channel.h"
#include "text/input_text.h"

namespace cosyvoice {
namespace {

constexpr size_t kMaxTextBytes = 100000;  // ~ an hour of speech; longer input is almost surely a mistake

// Times the rendering that gives a streamed request its first audio (SynthesisStats::first_chunk_*):
// the renderer's calls go through it until one has emitted a chunk.
class FirstChunkTimer {
 public:
  FirstChunkTimer(const AudioEmitter &emit, SynthesisStats &stats, bool streamed)
      : emit_(emit), stats_(stats), pending_(streamed) {}
  // Whether the first chunk is still to come.
  bool pending() const { return pending_; }
  void Push(SegmentRenderer &renderer, int token) {
    if (pending_) Start();
    renderer.Push(token);
    if (pending_ && renderer.RenderedAChunk()) Stop();
  }
  void Finish(SegmentRenderer &renderer) {
    if (pending_) Start();
    renderer.Finish();
    if (pending_ && renderer.num_tokens() > 0) Stop();
  }

 private:
  void Start() {
    at_ = emit_.elapsed();
    flow_ = stats_.seconds.flow;
    vocoder_ = stats_.seconds.vocoder;
  }
  void Stop() {
    stats_.first_chunk_tokens_seconds = at_;
    stats_.first_chunk_flow_seconds = stats_.seconds.flow - flow_;
    stats_.first_chunk_vocoder_seconds = stats_.seconds.vocoder - vocoder_;
    pending_ = false;
  }

  const AudioEmitter &emit_;
  SynthesisStats &stats_;
  bool pending_;
  double at_ = 0, flow_ = 0, vocoder_ = 0;
};

}  // namespace

Session::State::State(const Model::Impl &model)
    : model_(model), generator_(*model.llm, *model.speech_embedding, model.bundle.llm) {}
Session::State::~State() = default;

void Session::State::Run(const SynthesisRequest &request, const SynthesisOptions &options, AudioEmitter &emit,
                         SynthesisStats &stats, const CancelToken &cancel) {
  ResolvedOptions opt = ResolveOptions(options, model_.bundle);
  CheckRequest(request);
  cancel.Check();
  StreamingState *incremental = PrepareStreaming(opt);
  if (request.mode == Mode::kVoiceConversion) {
    RunVoiceConversion(request, opt, incremental, emit, stats, cancel);
    return;
  }
  if (request.text_source) {
    RunTextStream(request, opt, incremental, emit, stats, cancel);
    return;
  }
  auto t0 = SteadyClock::now();
  const std::vector<SegmentPlan> plans = model_.PlanSegments(request, options);
  stats.seconds.text += SecondsSince(t0);
  stats.segments = static_cast<int>(plans.size());
  RunSegments(plans, *request.voice, opt, incremental, emit, stats, cancel);
}

void Session::State::CheckRequest(const SynthesisRequest &r) const {
  if (r.voice == nullptr) throw Error(ErrorCode::kInvalidArgument, "request: a voice is required");
  model_.CheckVoice(*r.voice);
  if (r.text.size() > kMaxTextBytes) {
    throw Error(ErrorCode::kInvalidArgument, "text is " + std::to_string(r.text.size()) +
                                                 " bytes; the limit is " + std::to_string(kMaxTextBytes) +
                                                 " per request");
  }
  // checked before any work: a 12 kB instruction used to take 408 MB on the way to the LLM
  text::CheckTextLength(r.instruct, "instruction", text::kMaxInstructionBytes);
  if (r.mode == Mode::kVoiceConversion && r.source_audio == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "vc: source audio is required");
  }
  if (r.text_source) {
    if (r.mode != Mode::kZeroShot && r.mode != Mode::kInstruct2) {
      throw Error(ErrorCode::kInvalidArgument, std::string("text streaming: mode ") + ModeName(r.mode) +
                                                   " is not supported; use zero_shot or instruct2 (upstream "
                                                   "needs <|endofprompt|> in the prompt text)");
    }
    if (!r.text.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "text streaming: give the text through text_source only");
    }
  }
}

StreamingState *Session::State::PrepareStreaming(ResolvedOptions &opt) {
  if (!opt.stream || opt.stream_mode == StreamMode::kRecompute) return nullptr;
  if (opt.stream_mode == StreamMode::kExact && model_.flow_variant_without_chunk_graph() != nullptr) {
    // exact's chunks would run the fp32 chunked estimator and its final pass the variant: a mix
    // that is neither; recompute gives exact's audio with the variant throughout (docs/streaming.md §3)
    if (!model_.logged_exact_as_recompute.exchange(true)) {
      const ModelInfo::Precision &v = *model_.flow_variant_without_chunk_graph();
      COSY_LOG(kWarning) << "stream mode exact: the flow runs the " << v.variant << " (" << v.precision
                         << ") variant, which has no chunked estimator (re-quantize the bundle to get one); "
                            "streaming as recompute (the same audio as exact, the variant in every chunk, "
                            "more work per chunk)";
    }
    opt.stream_mode = StreamMode::kRecompute;
    return nullptr;
  }
  if (!model_.has_incremental_streaming()) {
    if (opt.stream_mode == StreamMode::kFast) {
      throw Error(ErrorCode::kInvalidArgument,
                  "stream mode fast needs flow/flow_estimator_chunk.onnx and hift.left_context_frames in the "
                  "bundle; re-export it (docs/streaming.md) or use stream mode exact or recompute");
    }
    // exact gives recompute's audio; without the chunked estimator it is computed that way
    opt.stream_mode = StreamMode::kRecompute;
    return nullptr;
  }
  if (!streaming_) streaming_ = std::make_unique<StreamingState>(model_);
  return streaming_.get();
}

// Voice conversion: no text, no LLM; the source speech's tokens go straight to the flow, all at
// once, and are rendered like a text segment's (streamed when asked, as upstream's loop does).
void Session::State::RunVoiceConversion(const SynthesisRequest &r, const ResolvedOptions &opt,
                                        StreamingState *incremental, AudioEmitter &emit,
                                        SynthesisStats &stats, const CancelToken &cancel) {
  auto t0 = SteadyClock::now();
  AudioRequirements req;
  req.max_seconds = model_.bundle.speech_tokenizer.max_seconds;
  const PromptAudio source = PreparePromptAudio(*r.source_audio, "source audio", req);
  const std::vector<int32_t> tokens = model_.SpeechTokens(source.x16);
  stats.seconds.frontend += SecondsSince(t0);
  stats.segments = 1;
  stats.speech_tokens = static_cast<int64_t>(tokens.size());
  emit.BeginSegment(0, 1);
  SegmentRenderer renderer(model_, *r.voice, opt, opt.stream, incremental, emit, stats, cancel);
  FirstChunkTimer first_chunk(emit, stats, opt.stream);
  for (int32_t t : tokens) first_chunk.Push(renderer, t);
  first_chunk.Finish(renderer);
}

// Text segments: the LLM decodes on a thread of its own (the producer) while this thread renders
// (the consumer: flow, vocoder, the caller's callback), so neither decoding nor rendering waits for
// the other, and a slow callback never stalls decoding. The producer runs at most one segment
// ahead. A failure or cancellation on either side stops both; the first error is rethrown here.
void Session::State::RunSegments(const std::vector<SegmentPlan> &plans, const Voice &voice,
                                 const ResolvedOptions &opt, StreamingState *incremental, AudioEmitter &emit,
                                 SynthesisStats &stats, const CancelToken &cancel) {
  const int n = static_cast<int>(plans.size());
  TokenChannel channel(1);
  std::vector<GenerationStats> generated(static_cast<size_t>(n));
  std::thread producer([&] {
    try {
      for (int i = 0; i < n && channel.Produce(i); ++i) {
        GenerateSegment(i, plans[static_cast<size_t>(i)], voice, opt, channel,
                        generated[static_cast<size_t>(i)], cancel);
      }
      channel.Close();
    } catch (...) {
      channel.Close(std::current_exception());
    }
  });
  try {
    for (int i = 0; i < n; ++i) RenderSegment(i, n, voice, opt, incremental, channel, emit, stats, cancel);
  } catch (...) {
    channel.Abort();
    producer.join();
    throw;
  }
  producer.join();
  for (const GenerationStats &g : generated) {
    stats.seconds.llm_prefill += g.prefill_seconds;
    stats.seconds.llm_decode += g.decode_seconds;  // overlaps the flow and vocoder when streaming
    stats.prompt_positions += g.prefill_positions;
    stats.speech_tokens += g.emitted_tokens;
  }
}

// Text-in streaming: one segment whose speech tokens come from the interleaved decode loop
// (BistreamDecoder) on the producer thread, which also pulls the text from the caller's source;
// rendering is the same consumer as for a text segment.
void Session::State::RunTextStream(const SynthesisRequest &r, const ResolvedOptions &opt,
                                   StreamingState *incremental, AudioEmitter &emit, SynthesisStats &stats,
                                   const CancelToken &cancel) {
  const auto t0 = SteadyClock::now();
  const std::vector<int32_t> prompt_ids = model_.TextStreamPrompt(r);
  stats.seconds.text += SecondsSince(t0);
  stats.segments = 1;
  TokenChannel channel(1);
  GenerationStats generated;
  double text_seconds = 0;  // tokenizing the pieces, on the producer thread
  std::thread producer([&] {
    try {
      GenerateTextStream(r, prompt_ids, opt, channel, generated, text_seconds, cancel);
      channel.Close();
    } catch (...) {
      channel.Close(std::current_exception());
    }
  });
  try {
    RenderSegment(0, 1, *r.voice, opt, incremental, channel, emit, stats, cancel);
  } catch (...) {
    channel.Abort();
    producer.join();  // returns once the text source does (a blocked source delays it)
    throw;
  }
  producer.join();
  stats.seconds.text += text_seconds;
  stats.seconds.llm_prefill += generated.prefill_seconds;
  stats.seconds.llm_decode += generated.decode_seconds;
  stats.prompt_positions += generated.prefill_positions;
  stats.speech_tokens += generated.emitted_tokens;
}

void Session::State::GenerateTextStream(const SynthesisRequest &r, const std::vector<int32_t> &prompt_ids,
                                        const ResolvedOptions &opt, TokenChannel &channel,
                                        GenerationStats &gs, double &text_seconds,
                                        const CancelToken &cancel) {
  const LlmConfig &l = model_.bundle.llm;
  RasSampler sampler(opt.ras, l.stop_begin, l.stop_end, opt.seed);  // segment 0: the request seed
  BistreamDecoder::Config config;
  config.mix_text = l.mix_text;
  config.mix_speech = l.mix_speech;
  config.max_token_text_ratio = opt.max_ratio;
  config.max_tokens = opt.max_tokens;
  const std::vector<int32_t> none;
  BistreamDecoder decoder(*model_.llm, *model_.text_embedding, *model_.speech_embedding, l, config,
                          prompt_ids, model_.bundle.tokenizer.endofprompt_id,
                          r.mode == Mode::kZeroShot ? r.voice->speech_tokens : none, sampler);
  auto on_token = [&](int token) { return !cancel.cancelled() && channel.Push({0, token, false}); };
  std::string piece;
  size_t bytes = 0;
  while (r.text_source(piece)) {
    cancel.Check();
    if (channel.aborted()) return;
    bytes += piece.size();
    if (bytes > kMaxTextBytes) {
      throw Error(ErrorCode::kInvalidArgument,
                  "text stream: more than " + std::to_string(kMaxTextBytes) + " bytes in one request");
    }
    const auto t0 = SteadyClock::now();
    const std::vector<int32_t> ids = piece.empty() ? std::vector<int32_t>{} : model_.text->Encode(piece);
    text_seconds += SecondsSince(t0);
    decoder.Push(ids, on_token);
    piece.clear();
  }
  cancel.Check();
  if (decoder.text_fed() == 0) {
    throw Error(ErrorCode::kInvalidArgument, "text stream: the text was empty: nothing to synthesize");
  }
  decoder.Finish(on_token);
  gs = decoder.stats();
  channel.Push({0, 0, true});
}

void Session::State::GenerateSegment(int index, const SegmentPlan &plan, const Voice &voice,
                                     const ResolvedOptions &opt, TokenChannel &channel, GenerationStats &gs,
                                     const CancelToken &cancel) {
  const LlmConfig &l = model_.bundle.llm;
  const std::vector<float> lm_input = model_.LmInput(plan, voice);
  const LengthLimits limits = SegmentLengthLimits(static_cast<int>(plan.text_ids.size()), opt);
  RasSampler sampler(opt.ras, l.stop_begin, l.stop_end, opt.seed + static_cast<uint64_t>(index));
  COSY_LOG(kDebug) << "segment " << index + 1 << ": " << plan.text_ids.size() << " text tokens, "
                   << lm_input.size() / static_cast<size_t>(l.hidden_size)
                   << " prompt positions, speech tokens " << limits.min_len << ".." << limits.max_len;
  auto on_token = [&](int token) { return !cancel.cancelled() && channel.Push({index, token, false}); };
  const std::vector<int> tokens =
      generator_.Generate(lm_input, limits.min_len, limits.max_len, sampler, on_token, &gs);
  gs.emitted_tokens = static_cast<int64_t>(tokens.size());
  channel.Push({index, 0, true});
}

void Session::State::RenderSegment(int index, int count, const Voice &voice, const ResolvedOptions &opt,
                                   StreamingState *incremental, TokenChannel &channel, AudioEmitter &emit,
                                   SynthesisStats &stats, const CancelToken &cancel) {
  const LlmConfig &l = model_.bundle.llm;
  channel.Rendering(index);
  emit.BeginSegment(index, count);
  SilentTokenFilter filter(l.silent_tokens, l.max_silent_run);
  // built while the LLM decodes: a new voice's streaming prompt cache is computed meanwhile
  SegmentRenderer renderer(model_, voice, opt, opt.stream, incremental, emit, stats, cancel);
  // first-audio priority (TokenChannel), where the two threads compete for the CPU
  // (FirstAudioPriorityPays): until the request's first chunk is out, the LLM decodes only the
  // tokens that chunk needs, and waits while it renders. Then chunk order: the LLM may
  // queue the tokens of the chunk after the one rendering, not more. Decoding further ahead does
  // no work sooner that anyone waits for, and on a machine with fewer cores than both need it takes
  // the CPU from the chunk being rendered: chunks then arrive late and unevenly (docs/streaming.md
  // §8.2: on 2 cores the free-running LLM left 1.1 s stalls at an offline RTF of 0.8).
  FirstChunkTimer first_chunk(emit, stats, opt.stream && index == 0);
  const bool priority = model_.first_audio_priority;
  TokenEvent e;
  while (channel.Pop(&e) && !e.end) {
    cancel.Check();
    if (e.segment != index) throw Error(ErrorCode::kRuntime, "token stream out of order");
    if (!filter.Push(e.token)) continue;
    if (priority && first_chunk.pending())
      channel.LimitProducer(std::max(0, renderer.TokensToNextChunk() - 1));
    first_chunk.Push(renderer, e.token);  // streaming: renders what became ready
    if (opt.stream && !first_chunk.pending()) channel.LimitProducer(renderer.NextHop());
  }
  if (!e.end) throw Error(ErrorCode::kCancelled, "synthesis stopped");  // the producer stopped early
  if (renderer.num_tokens() == 0) {
    COSY_LOG(kWarning) << "segment " << index + 1 << " produced no speech tokens; skipped";
  }
  if (priority && first_chunk.pending()) channel.LimitProducer(0);  // the first audio is the final chunk's
  first_chunk.Finish(renderer);
  channel.LimitProducer(-1);
}

// ---- Session ------------------------------------------------------------------------------------

Session::Session(std::shared_ptr<const Model> model) : model_(std::move(model)) {
  if (!model_) throw Error(ErrorCode::kInvalidArgument, "session: the model is null");
  state_ = std::make_unique<State>(model_->impl());
}

Session::~Session() = default;

void Session::Cancel() {
  cancel_.store(true, std::memory_order_relaxed);
}

Audio Session::Synthesize(const SynthesisRequest &request, const SynthesisOptions &options,
                          const AudioCallback &callback, SynthesisStats *stats) {
  Audio out;
  out.sample_rate = model_->sample_rate();
  Run(request, options, callback, stats, &out);
  return out;
}

void Session::Stream(const SynthesisRequest &request, const SynthesisOptions &options,
                     const AudioCallback &callback, SynthesisStats *stats) {
  if (!callback) throw Error(ErrorCode::kInvalidArgument, "Session::Stream: a callback is required");
  Run(request, options, callback, stats, nullptr);
}

void Session::Run(const SynthesisRequest &request, const SynthesisOptions &options,
                  const AudioCallback &callback, SynthesisStats *stats, Audio *out) {
  if (busy_.exchange(true)) {
    throw Error(ErrorCode::kInvalidArgument,
                "session is already running a request: use one Session per concurrent request");
  }
  struct Release {
    std::atomic<bool> &busy;
    ~Release() { busy.store(false); }
  } release{busy_};
  cancel_.store(false, std::memory_order_relaxed);
  const auto start = SteadyClock::now();
  SynthesisStats local;
  SynthesisStats &st = stats ? *stats : local;
  st = SynthesisStats{};
  AudioEmitter emit(callback, out, model_->sample_rate(), st, start);
  state_->Run(request, options, emit, st, CancelToken(&cancel_));
  st.audio_seconds = static_cast<double>(emit.samples_emitted()) / model_->sample_rate();
  st.total_seconds = SecondsSince(start);
}

}  // namespace cosyvoice
