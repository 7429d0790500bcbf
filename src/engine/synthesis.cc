// src/engine/synthesis.cc - a request as named steps: check -> plan segments -> per segment:
// generate tokens -> filter silent tokens -> schedule chunks, render mel, vocode -> emit.
#include <algorithm>
#include <string>

#include "audio/audio_io.h"
#include "common/log.h"
#include "common/timer.h"
#include "engine/segment_renderer.h"
#include "engine/session_state.h"
#include "engine/silent_token_filter.h"

namespace cosyvoice {
namespace {

constexpr size_t kMaxTextBytes = 100000;  // ~ an hour of speech; longer input is almost surely a mistake

}  // namespace

Session::State::State(const Model::Impl &model)
    : model_(model), generator_(*model.llm, *model.speech_embedding, model.bundle.llm) {}

void Session::State::Run(const SynthesisRequest &request, const SynthesisOptions &options, AudioEmitter &emit,
                         SynthesisStats &stats, const CancelToken &cancel) {
  const ResolvedOptions opt = ResolveOptions(options, model_.bundle);
  CheckRequest(request);
  cancel.Check();
  if (request.mode == Mode::kVoiceConversion) {
    RunVoiceConversion(request, opt, emit, stats, cancel);
  } else {
    auto t0 = SteadyClock::now();
    const std::vector<SegmentPlan> plans = model_.PlanSegments(request, options);
    stats.seconds.text += SecondsSince(t0);
    stats.segments = static_cast<int>(plans.size());
    for (size_t i = 0; i < plans.size(); ++i) {
      emit.BeginSegment(static_cast<int>(i), static_cast<int>(plans.size()));
      RunSegment(static_cast<int>(i), plans[i], *request.voice, opt, emit, stats, cancel);
    }
  }
}

void Session::State::CheckRequest(const SynthesisRequest &r) const {
  if (r.voice == nullptr) throw Error(ErrorCode::kInvalidArgument, "request: a voice is required");
  model_.CheckVoice(*r.voice);
  if (r.text.size() > kMaxTextBytes) {
    throw Error(ErrorCode::kInvalidArgument, "text is " + std::to_string(r.text.size()) +
                                                 " bytes; the limit is " + std::to_string(kMaxTextBytes) +
                                                 " per request");
  }
  if (r.mode == Mode::kVoiceConversion && r.source_audio == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "vc: source audio is required");
  }
}

// Voice conversion: no text, no LLM; the source speech's tokens go straight to the flow.
void Session::State::RunVoiceConversion(const SynthesisRequest &r, const ResolvedOptions &opt,
                                        AudioEmitter &emit, SynthesisStats &stats,
                                        const CancelToken &cancel) {
  auto t0 = SteadyClock::now();
  AudioRequirements req;
  req.max_seconds = model_.bundle.speech_tokenizer.max_seconds;
  const PromptAudio source = PreparePromptAudio(*r.source_audio, "source audio", req);
  const std::vector<int32_t> tokens = model_.SpeechTokens(source.x16);
  stats.seconds.frontend += SecondsSince(t0);
  stats.segments = 1;
  stats.speech_tokens = static_cast<int64_t>(tokens.size());
  emit.BeginSegment(0, 1);
  // Rendered offline even when streaming is asked for: streamed VC has no reference goldens yet.
  SegmentRenderer renderer(model_, *r.voice, opt, /*stream=*/false, emit, stats, cancel);
  for (int32_t t : tokens) renderer.Push(t);
  renderer.Finish();
}

void Session::State::RunSegment(int index, const SegmentPlan &plan, const Voice &voice,
                                const ResolvedOptions &opt, AudioEmitter &emit, SynthesisStats &stats,
                                const CancelToken &cancel) {
  const LlmConfig &l = model_.bundle.llm;
  const std::vector<float> lm_input = model_.LmInput(plan, voice);
  const LengthLimits limits = SegmentLengthLimits(static_cast<int>(plan.text_ids.size()), opt);
  RasSampler sampler(opt.ras, l.stop_begin, l.stop_end, opt.seed + static_cast<uint64_t>(index));
  COSY_LOG(kDebug) << "segment " << index + 1 << ": " << plan.text_ids.size() << " text tokens, "
                   << lm_input.size() / static_cast<size_t>(l.hidden_size)
                   << " prompt positions, speech tokens " << limits.min_len << ".." << limits.max_len;

  SilentTokenFilter filter(l.silent_tokens, l.max_silent_run);
  SegmentRenderer renderer(model_, voice, opt, opt.stream, emit, stats, cancel);
  auto on_token = [&](int token) {
    cancel.Check();
    if (filter.Push(token)) renderer.Push(token);  // streaming: renders the chunks now ready
    return true;
  };
  GenerationStats gs;
  const std::vector<int> tokens =
      generator_.Generate(lm_input, limits.min_len, limits.max_len, sampler, on_token, &gs);
  stats.seconds.llm_prefill += gs.prefill_seconds;
  stats.seconds.llm_decode += std::max(0.0, gs.decode_seconds - renderer.push_seconds());
  stats.prompt_positions += gs.prefill_positions;
  stats.speech_tokens += static_cast<int64_t>(tokens.size());
  if (renderer.num_tokens() == 0) {
    COSY_LOG(kWarning) << "segment " << index + 1 << " produced no speech tokens; skipped";
  }
  renderer.Finish();
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
