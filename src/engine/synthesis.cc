// src/engine/synthesis.cc - Engine::Synthesize: segments -> LLM tokens -> flow mel -> waveform,
// offline or streamed in chunks (spec §8).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "common/log.h"
#include "common/timer.h"
#include "engine/engine_impl.h"

namespace cosyvoice {
namespace {

using Clock = SteadyClock;

constexpr size_t kMaxTextBytes = 100000;  // ~ an hour of speech; longer input is almost surely a mistake

// The options with the bundle's defaults filled in.
struct Resolved {
  RasParams ras;
  double min_ratio, max_ratio;
  FlowOptions flow;
};

Resolved Resolve(const SynthesisOptions &o, const BundleConfig &b) {
  Resolved r;
  const SamplingConfig &s = b.llm.sampling;
  r.ras.top_p = o.top_p > 0 ? static_cast<double>(o.top_p) : s.top_p;
  r.ras.top_k = o.top_k > 0 ? o.top_k : s.top_k;
  r.ras.win_size = o.win_size >= 0 ? o.win_size : s.win_size;
  r.ras.tau_r = o.tau_r >= 0 ? static_cast<double>(o.tau_r) : s.tau_r;
  r.min_ratio =
      o.min_token_text_ratio >= 0 ? static_cast<double>(o.min_token_text_ratio) : b.llm.min_token_text_ratio;
  r.max_ratio =
      o.max_token_text_ratio >= 0 ? static_cast<double>(o.max_token_text_ratio) : b.llm.max_token_text_ratio;
  r.flow.n_timesteps = o.n_timesteps > 0 ? o.n_timesteps : b.flow.n_timesteps;
  r.flow.cfg_rate = o.cfg_rate >= 0 ? o.cfg_rate : static_cast<float>(b.flow.cfg_rate);
  return r;
}

// Streams one segment's audio to the caller and into the request's output.
class Emitter {
 public:
  Emitter(const AudioCallback &callback, int sample_rate, int segment, int segments, Audio &out,
          SynthesisStats &stats, Clock::time_point start)
      : callback_(callback),
        rate_(sample_rate),
        segment_(segment),
        segments_(segments),
        out_(out),
        stats_(stats),
        start_(start) {}

  void Emit(const float *samples, size_t n, bool segment_done) {
    if (n == 0 && !segment_done) return;
    if (stats_.first_audio_seconds == 0 && n > 0) stats_.first_audio_seconds = SecondsSince(start_);
    out_.samples.insert(out_.samples.end(), samples, samples + n);
    if (!callback_) return;
    AudioChunk c;
    c.samples = samples;
    c.num_samples = n;
    c.sample_rate = rate_;
    c.segment = segment_;
    c.num_segments = segments_;
    c.segment_done = segment_done;
    if (!callback_(c)) throw Error(ErrorCode::kCancelled, "synthesis cancelled by the callback");
  }

 private:
  const AudioCallback &callback_;
  int rate_, segment_, segments_;
  Audio &out_;
  SynthesisStats &stats_;
  Clock::time_point start_;
};

}  // namespace

FlowInput Engine::Impl::PromptFlowInput(const Voice &voice) {
  FlowInput in;
  in.prompt_tokens = voice.speech_tokens;
  in.prompt_mel = voice.prompt_mel.data();
  in.prompt_frames = voice.mel_frames();
  in.embedding = voice.speaker_embedding.data();
  return in;
}

std::vector<float> Engine::Impl::RenderOffline(const FlowInput &input, const FlowOptions &flow_options,
                                               float speed, SynthesisStats &st) {
  FlowInput in = input;
  in.finalize = true;
  in.streaming = false;
  auto t0 = Clock::now();
  int64_t frames = 0;
  std::vector<float> mel = flow->Run(in, flow_options, &frames);
  st.seconds.flow += SecondsSince(t0);
  if (speed != 1.0f) {  // upstream: F.interpolate(mel, size=int(frames / speed), mode='linear')
    const int64_t n = static_cast<int64_t>(static_cast<float>(frames) / speed);
    mel = ResampleMelLinear(mel, bundle.flow.mel_bins, frames, n);
    frames = n;
  }
  t0 = Clock::now();
  std::vector<float> wav = vocoder->Run(mel.data(), frames, true);
  st.seconds.vocoder += SecondsSince(t0);
  return wav;
}

void SynthesisOptions::Validate() const {
  auto fail = [](const std::string &m) {
    throw Error(ErrorCode::kInvalidArgument, "synthesis options: " + m);
  };
  if (!(speed >= 0.5f && speed <= 2.0f)) fail("speed must be in [0.5, 2.0], got " + std::to_string(speed));
  if (stream && speed != 1.0f) fail("speed cannot change in streaming mode (upstream ignores it there)");
  if (n_timesteps < 0 || n_timesteps > 1000) fail("n_timesteps must be in [1, 1000] (0: bundle default)");
  if (cfg_rate > 100) fail("cfg_rate must be <= 100");
  if (top_p > 1) fail("top_p must be in (0, 1]");
  if (top_k < 0) fail("top_k must be >= 0 (0: bundle default)");
  if (max_tokens < 0 || min_tokens < 0) fail("min_tokens and max_tokens must be >= 0");
  if (max_tokens > 0 && min_tokens > max_tokens) fail("min_tokens must be <= max_tokens");
  if (min_token_text_ratio >= 0 && max_token_text_ratio >= 0 && max_token_text_ratio < min_token_text_ratio)
    fail("max_token_text_ratio must be >= min_token_text_ratio");
}

Audio Engine::Impl::Synthesize(const SynthesisRequest &r, const SynthesisOptions &o,
                               const AudioCallback &callback, SynthesisStats *stats_out) {
  const auto start = Clock::now();
  o.Validate();
  if (r.voice == nullptr) throw Error(ErrorCode::kInvalidArgument, "request: a voice is required");
  const Voice &voice = *r.voice;
  if (!voice.frontend_id.empty() && voice.frontend_id != frontend_id) {
    throw Error(ErrorCode::kInvalidArgument,
                "voice '" + voice.source + "' was prepared with other frontend models (" + voice.frontend_id +
                    ") than this bundle's (" + frontend_id + "); create it again with this bundle");
  }
  if (voice.mel_bins != bundle.flow.mel_bins || voice.speech_tokens.empty() ||
      voice.mel_frames() != static_cast<int64_t>(voice.speech_tokens.size()) * bundle.flow.token_mel_ratio ||
      static_cast<int>(voice.speaker_embedding.size()) != bundle.flow.spk_embed_dim) {
    throw Error(ErrorCode::kInvalidArgument, "voice '" + voice.source +
                                                 "' does not fit this model (mel bins, "
                                                 "prompt length or embedding size)");
  }
  if (r.text.size() > kMaxTextBytes) {
    throw Error(ErrorCode::kInvalidArgument, "text is " + std::to_string(r.text.size()) +
                                                 " bytes; the limit is " + std::to_string(kMaxTextBytes) +
                                                 " per request");
  }
  const Resolved opt = Resolve(o, bundle);
  SynthesisStats local;
  SynthesisStats &st = stats_out ? *stats_out : local;
  st = SynthesisStats{};
  Audio out;
  out.sample_rate = bundle.sample_rate;

  // Voice conversion: no text, no LLM; the source speech's tokens go straight to the flow.
  if (r.mode == Mode::kVoiceConversion) {
    if (r.source_audio == nullptr) throw Error(ErrorCode::kInvalidArgument, "vc: source audio is required");
    auto t0 = Clock::now();
    AudioRequirements req;
    req.max_seconds = bundle.speech_tokenizer.max_seconds;
    const PromptAudio src = PreparePromptAudio(*r.source_audio, "source audio", req);
    const FeatureMatrix mel = WhisperLogMel(src.x16);
    std::vector<int32_t> tokens = speech_tokenizer().Run(mel.data, mel.cols);
    st.seconds.frontend += SecondsSince(t0);
    FlowInput in = PromptFlowInput(voice);
    in.tokens = std::move(tokens);
    const std::vector<float> wav = RenderOffline(in, opt.flow, o.speed, st);
    Emitter(callback, out.sample_rate, 0, 1, out, st, start).Emit(wav.data(), wav.size(), true);
    st.segments = 1;
    st.speech_tokens = static_cast<int64_t>(in.tokens.size());
    st.audio_seconds = out.duration_seconds();
    st.total_seconds = SecondsSince(start);
    return out;
  }

  auto t0 = Clock::now();
  const std::vector<SegmentPlan> plans = PlanSegments(r, o);
  st.seconds.text += SecondsSince(t0);
  st.segments = static_cast<int>(plans.size());
  const LlmConfig &l = bundle.llm;
  SpeechTokenGenerator generator(*llm, *speech_embedding, l);

  for (size_t i = 0; i < plans.size(); ++i) {
    const SegmentPlan &plan = plans[i];
    Emitter emit(callback, out.sample_rate, static_cast<int>(i), static_cast<int>(plans.size()), out, st,
                 start);
    const std::vector<float> lm_input = LmInput(plan, voice);
    LengthLimits limits =
        ComputeLengthLimits(static_cast<int>(plan.text_ids.size()), opt.min_ratio, opt.max_ratio);
    if (o.max_tokens > 0) limits.max_len = std::min(limits.max_len, o.max_tokens);
    if (o.min_tokens > 0) limits.min_len = std::max(limits.min_len, o.min_tokens);
    limits.min_len = std::min(limits.min_len, limits.max_len);
    RasSampler sampler(opt.ras, l.stop_begin, l.stop_end, o.seed + static_cast<uint64_t>(i));
    COSY_LOG(kDebug) << "segment " << i + 1 << "/" << plans.size() << ": " << plan.text_ids.size()
                     << " text tokens, " << lm_input.size() / static_cast<size_t>(l.hidden_size)
                     << " prompt positions, speech tokens " << limits.min_len << ".." << limits.max_len;

    FlowInput in = PromptFlowInput(voice);

    // Streaming state (spec §8): hops of token_hop_len + pad, then growing by stream_scale_factor
    // up to token_max_hop_len; each chunk re-runs the flow over all tokens so far with chunk
    // attention and the vocoder over all mel so far, and emits only what is new.
    const int chunk_tokens = bundle.flow.static_chunk_size / bundle.flow.token_mel_ratio;
    const int k = static_cast<int>(voice.speech_tokens.size());
    const int pad = (k + chunk_tokens - 1) / chunk_tokens * chunk_tokens - k;
    int hop = bundle.streaming.token_hop_len;
    int offset = 0;
    size_t emitted_samples = 0;
    std::vector<float> acc_mel;  // [mel_bins, acc_frames] channel-major, rebuilt per chunk
    int64_t acc_frames = 0;
    std::vector<int> flow_tokens;
    const int lookahead = bundle.flow.pre_lookahead;
    const int mel_bins = bundle.flow.mel_bins;

    auto append_mel = [&](const std::vector<float> &gen, int64_t gen_frames, int64_t from_frame) {
      const int64_t add = gen_frames - from_frame;
      std::vector<float> merged(static_cast<size_t>(mel_bins * (acc_frames + add)));
      for (int c = 0; c < mel_bins; ++c) {
        std::copy_n(acc_mel.begin() + c * acc_frames, acc_frames, merged.begin() + c * (acc_frames + add));
        std::copy_n(gen.begin() + c * gen_frames + from_frame, add,
                    merged.begin() + c * (acc_frames + add) + acc_frames);
      }
      acc_mel.swap(merged);
      acc_frames += add;
    };
    auto run_chunk = [&](bool final_chunk) {
      auto tf = Clock::now();
      in.tokens.assign(flow_tokens.begin(), final_chunk ? flow_tokens.end()
                                                        : flow_tokens.begin() + offset +
                                                              (offset == 0 ? hop + pad : hop) + lookahead);
      in.finalize = final_chunk;
      in.streaming = !final_chunk;  // upstream's last chunk runs with full attention
      int64_t frames = 0;
      const std::vector<float> gen = flow->Run(in, opt.flow, &frames);
      st.seconds.flow += SecondsSince(tf);
      append_mel(gen, frames, static_cast<int64_t>(offset) * bundle.flow.token_mel_ratio);
      tf = Clock::now();
      const std::vector<float> wav = vocoder->Run(acc_mel.data(), acc_frames, final_chunk);
      st.seconds.vocoder += SecondsSince(tf);
      const size_t n = wav.size() > emitted_samples ? wav.size() - emitted_samples : 0;
      emit.Emit(wav.data() + emitted_samples, n, final_chunk);
      emitted_samples += n;
    };
    auto try_stream_chunks = [&] {
      for (;;) {
        const int hop_now = offset == 0 ? hop + pad : hop;
        if (static_cast<int>(flow_tokens.size()) - offset < hop_now + lookahead) return;
        run_chunk(false);
        offset += hop_now;
        hop = std::min(bundle.streaming.token_max_hop_len, hop * bundle.streaming.stream_scale_factor);
      }
    };

    // Silent-token filter as tokens arrive (the LLM keeps its own full history).
    int silent_run = 0;
    double chunk_seconds_in_llm = 0;  // streamed chunks run inside the LLM loop
    auto on_token = [&](int token) {
      const bool silent =
          std::find(l.silent_tokens.begin(), l.silent_tokens.end(), token) != l.silent_tokens.end();
      silent_run = silent ? silent_run + 1 : 0;
      if (!(silent && silent_run > l.max_silent_run)) flow_tokens.push_back(token);
      if (o.stream) {
        const auto tc = Clock::now();
        try_stream_chunks();
        chunk_seconds_in_llm += SecondsSince(tc);
      }
      return true;
    };

    GenerationStats gs;
    const std::vector<int> tokens =
        generator.Generate(lm_input, limits.min_len, limits.max_len, sampler, on_token, &gs);
    st.seconds.llm_prefill += gs.prefill_seconds;
    st.seconds.llm_decode += std::max(0.0, gs.decode_seconds - chunk_seconds_in_llm);
    st.prompt_positions += gs.prefill_positions;
    st.speech_tokens += static_cast<int64_t>(tokens.size());
    if (flow_tokens.empty()) {
      COSY_LOG(kWarning) << "segment " << i + 1 << " produced no speech tokens; skipped";
      emit.Emit(nullptr, 0, true);
      continue;
    }
    if (o.stream) {
      try_stream_chunks();
      run_chunk(true);
    } else {
      in.tokens.assign(flow_tokens.begin(), flow_tokens.end());
      const std::vector<float> wav = RenderOffline(in, opt.flow, o.speed, st);
      emit.Emit(wav.data(), wav.size(), true);
    }
  }
  st.audio_seconds = out.duration_seconds();
  st.total_seconds = SecondsSince(start);
  return out;
}

}  // namespace cosyvoice
