// src/quality/ab_runner.cc
#include "quality/ab_runner.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "cosyvoice/error.h"
#include "engine/model_impl.h"
#include "engine/resolved_options.h"
#include "engine/silent_token_filter.h"
#include "engine/token_generator.h"
#include "quality/spectrogram_image.h"

namespace cosyvoice::quality {
namespace {

// Pictures: the log-mel's top 10 natural-log units (87 dB) in colour; differences up to 0.25 (2.2 dB).
constexpr double kMelRange = 10.0;
constexpr double kMelDiffRange = 0.25;  // 2.2 dB
// Audio spectrograms (hift variants): 1024-point frames every 10.7 ms at 24 kHz, 80 dB shown.
constexpr int kSpecFft = 1024;
constexpr int kSpecHop = 256;

SynthesisRequest RequestOf(const AbCaseSpec &c) {
  SynthesisRequest r;
  r.mode = c.mode;
  r.text = c.text;
  r.instruct = c.instruct;
  r.voice = c.voice;
  return r;
}

SynthesisOptions OptionsOf(const AbCaseSpec &c, const AbRunOptions &o) {
  SynthesisOptions s;
  s.seed = c.seed;
  s.min_tokens = o.min_tokens;
  s.max_tokens = o.max_tokens;
  return s;
}

std::vector<int32_t> Filtered(const Model::Impl &m, const std::vector<int> &tokens) {
  SilentTokenFilter filter(m.bundle.llm.silent_tokens, m.bundle.llm.max_silent_run);
  std::vector<int32_t> out;
  for (int t : tokens)
    if (filter.Push(t)) out.push_back(t);
  return out;
}

// One segment's tokens, generated as synthesis does (seed + segment index), and the ones the
// silent-token filter passes to the flow.
std::pair<std::vector<int>, std::vector<int32_t>> GenerateTokens(const Model::Impl &m,
                                                                 SpeechTokenGenerator &gen,
                                                                 const std::vector<float> &lm_input,
                                                                 const SegmentPlan &plan,
                                                                 const ResolvedOptions &opt, int index) {
  const LlmConfig &l = m.bundle.llm;
  const LengthLimits limits = SegmentLengthLimits(static_cast<int>(plan.text_ids.size()), opt);
  RasSampler sampler(opt.ras, l.stop_begin, l.stop_end, opt.seed + static_cast<uint64_t>(index));
  std::vector<int> tokens = gen.Generate(lm_input, limits.min_len, limits.max_len, sampler);
  std::vector<int32_t> flow_tokens = Filtered(m, tokens);
  return {std::move(tokens), std::move(flow_tokens)};
}

// Offline rendering of one segment (what SegmentRenderer does at speed 1): mel [bins][frames].
std::vector<float> RenderMel(const Model::Impl &m, const Voice &voice, const std::vector<int32_t> &tokens,
                             const ResolvedOptions &opt, int64_t *frames) {
  FlowInput in = Model::Impl::PromptFlowInput(voice);
  in.tokens = tokens;
  in.finalize = true;
  in.streaming = false;
  return m.flow->Run(in, opt.flow, frames);
}

void Append(std::vector<float> &dst, const std::vector<float> &src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

// [bins][frames] channel-major segments -> one [frames][bins] matrix.
std::vector<float> FramesMajor(const std::vector<std::vector<float>> &mels,
                               const std::vector<int64_t> &frames, int bins, int64_t *total) {
  *total = 0;
  for (int64_t f : frames) *total += f;
  std::vector<float> out(static_cast<size_t>(*total * bins));
  int64_t row = 0;
  for (size_t s = 0; s < mels.size(); ++s) {
    for (int64_t f = 0; f < frames[s]; ++f, ++row)
      for (int k = 0; k < bins; ++k)
        out[static_cast<size_t>(row * bins + k)] = mels[s][static_cast<size_t>(k * frames[s] + f)];
  }
  return out;
}

// CAM++ embedding of generated audio; empty when the audio is unusable as a prompt (silent).
std::vector<float> SpeakerOf(const Model::Impl &m, const std::vector<float> &wav) {
  AudioRequirements req;
  req.max_seconds = 3600;
  try {
    const PromptAudio a = PreparePromptAudio(Audio{wav, m.bundle.sample_rate}, "generated audio", req);
    const FeatureMatrix fbank = KaldiFbank(a.x16);
    return m.campplus().Run(fbank.data, fbank.rows);
  } catch (const Error &e) {
    if (e.code() != ErrorCode::kInvalidAudio) throw;
    return {};
  }
}

std::vector<float> LogPower(const std::vector<float> &wav, int64_t *frames, int64_t *bins) {
  const Spectrogram s = PowerSpectrogram(wav.data(), wav.size(), kSpecFft, kSpecHop);
  std::vector<float> db(s.power.size());
  for (size_t i = 0; i < db.size(); ++i)
    db[i] = static_cast<float>(10.0 * std::log10(static_cast<double>(s.power[i]) + 1e-10));
  *frames = s.frames;
  *bins = s.bins;
  return db;
}

double MaxOf(const std::vector<float> &v) {
  return v.empty() ? 0.0 : static_cast<double>(*std::max_element(v.begin(), v.end()));
}

}  // namespace

std::string AbFamilies::Describe() const {
  std::string s;
  for (auto [on, name] : {std::pair{llm, "llm"}, std::pair{flow, "flow"}, std::pair{hift, "hift"}})
    if (on) s += (s.empty() ? "" : "+") + std::string(name);
  return s.empty() ? "none" : s;
}

ModelFiles ModelFiles::Of(const BundleConfig &c) {
  auto id = [&](const std::string &rel) {
    const auto it = c.files.find(rel);
    return it == c.files.end() ? c.Path(rel).string()
                               : it->second.sha256 + ":" + std::to_string(it->second.bytes);
  };
  ModelFiles f;
  f.llm = {id(c.llm.file), id(c.llm.text_embedding), id(c.llm.speech_embedding)};
  f.flow = {id(c.flow.encoder), id(c.flow.estimator)};
  f.hift = {id(c.hift.f0), id(c.hift.generator)};
  return f;
}

AbFamilies DifferingFamilies(const ModelFiles &a, const ModelFiles &b) {
  AbFamilies f;
  f.llm = a.llm != b.llm;
  f.flow = a.flow != b.flow;
  f.hift = a.hift != b.hift;
  return f;
}

std::optional<double> ReferenceSamplingSpread(const std::vector<AbCaseSpec> &cases,
                                              const std::vector<AbReferenceCase> &reference) {
  if (reference.size() != cases.size())
    throw Error(ErrorCode::kInvalidArgument, "ab: reference runs do not match");
  auto same_request = [](const AbCaseSpec &a, const AbCaseSpec &b) {
    return a.voice == b.voice && a.mode == b.mode && a.language == b.language && a.text == b.text &&
           a.instruct == b.instruct;
  };
  std::vector<std::vector<int32_t>> tokens(reference.size());  // each case's segments joined
  for (size_t i = 0; i < reference.size(); ++i)
    for (const std::vector<int> &segment : reference[i].tokens)
      tokens[i].insert(tokens[i].end(), segment.begin(), segment.end());
  std::vector<double> distances;
  for (size_t i = 0; i < cases.size(); ++i)
    for (size_t j = i + 1; j < cases.size(); ++j)
      if (cases[i].seed != cases[j].seed && same_request(cases[i], cases[j]))
        distances.push_back(NormalizedEditDistance(tokens[i], tokens[j]));
  if (distances.empty()) return std::nullopt;
  return Median(std::move(distances));
}

AbRunner::AbRunner(AbRunOptions options) : options_(std::move(options)) {}

void AbRunner::Progress(const std::string &msg) const {
  if (options_.progress) options_.progress(msg);
}

std::vector<AbReferenceCase> AbRunner::RunReference(const Model &model,
                                                    const std::vector<AbCaseSpec> &cases) const {
  const Model::Impl &m = model.impl();
  SpeechTokenGenerator gen(*m.llm, *m.speech_embedding, m.bundle.llm);
  std::vector<AbReferenceCase> out;
  for (size_t i = 0; i < cases.size(); ++i) {
    const AbCaseSpec &c = cases[i];
    Progress("reference " + std::to_string(i + 1) + "/" + std::to_string(cases.size()) + ": " + c.id);
    const SynthesisOptions so = OptionsOf(c, options_);
    const ResolvedOptions opt = ResolveOptions(so, m.bundle);
    AbReferenceCase r;
    const std::vector<SegmentPlan> plans = m.PlanSegments(RequestOf(c), so);
    for (size_t s = 0; s < plans.size(); ++s) {
      r.lm_inputs.push_back(m.LmInput(plans[s], *c.voice));
      auto [tokens, flow_tokens] =
          GenerateTokens(m, gen, r.lm_inputs.back(), plans[s], opt, static_cast<int>(s));
      Append(r.logits, gen.TeacherForcedLogits(r.lm_inputs.back(), tokens));
      r.tokens.push_back(std::move(tokens));
      int64_t frames = 0;
      r.mels.push_back(flow_tokens.empty() ? std::vector<float>()
                                           : RenderMel(m, *c.voice, flow_tokens, opt, &frames));
      r.frames.push_back(frames);
      if (frames > 0) Append(r.wav, m.vocoder->Run(r.mels.back().data(), frames, true));
    }
    r.speaker = SpeakerOf(m, r.wav);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<AbCase> AbRunner::RunVariant(const Model &model, const std::vector<AbCaseSpec> &cases,
                                         const std::vector<AbReferenceCase> &reference,
                                         const AbFamilies &families) const {
  if (reference.size() != cases.size())
    throw Error(ErrorCode::kInvalidArgument, "ab: reference runs do not match");
  const Model::Impl &m = model.impl();
  const int bins = m.bundle.flow.mel_bins;
  const int64_t vocab = m.llm->shape().vocab_size;
  SpeechTokenGenerator gen(*m.llm, *m.speech_embedding, m.bundle.llm);
  std::vector<AbCase> results;
  for (size_t i = 0; i < cases.size(); ++i) {
    const AbCaseSpec &c = cases[i];
    const AbReferenceCase &ref = reference[i];
    Progress("variant " + std::to_string(i + 1) + "/" + std::to_string(cases.size()) + ": " + c.id);
    const SynthesisOptions so = OptionsOf(c, options_);
    const ResolvedOptions opt = ResolveOptions(so, m.bundle);
    const std::vector<SegmentPlan> plans = m.PlanSegments(RequestOf(c), so);
    if (plans.size() != ref.tokens.size())
      throw Error(ErrorCode::kInvalidArgument,
                  "ab: case " + c.id + " splits differently under the two models");

    AbCase r;
    r.id = c.id, r.voice = c.voice_name, r.language = c.language, r.mode = ModeName(c.mode), r.text = c.text;
    r.seed = c.seed;
    LogitsComparer logits(vocab);
    std::vector<int32_t> all_ref_tokens, all_var_tokens;
    std::vector<std::vector<float>> mels_tf, mels_free;  // variant mel of the reference's / its own tokens
    std::vector<int64_t> frames_tf, frames_free;
    std::vector<float> wav_tf, wav_free;
    for (size_t s = 0; s < plans.size(); ++s) {
      const std::vector<int32_t> ref_flow_tokens = Filtered(m, ref.tokens[s]);
      all_ref_tokens.insert(all_ref_tokens.end(), ref.tokens[s].begin(), ref.tokens[s].end());
      if (families.llm) {
        const std::vector<float> lm_input = m.LmInput(plans[s], *c.voice);
        const std::vector<float> tf = gen.TeacherForcedLogits(lm_input, ref.tokens[s]);
        size_t offset = 0;  // rows of earlier segments in ref.logits
        for (size_t p = 0; p < s; ++p) offset += (ref.tokens[p].size() + 1) * static_cast<size_t>(vocab);
        for (size_t row = 0; row * static_cast<size_t>(vocab) < tf.size(); ++row)
          logits.Add(&ref.logits[offset + row * static_cast<size_t>(vocab)],
                     &tf[row * static_cast<size_t>(vocab)]);
        auto [tokens, flow_tokens] = GenerateTokens(m, gen, lm_input, plans[s], opt, static_cast<int>(s));
        all_var_tokens.insert(all_var_tokens.end(), tokens.begin(), tokens.end());
        int64_t frames = 0;
        mels_free.push_back(flow_tokens.empty() ? std::vector<float>()
                                                : RenderMel(m, *c.voice, flow_tokens, opt, &frames));
        frames_free.push_back(frames);
        if (frames > 0) Append(wav_free, m.vocoder->Run(mels_free.back().data(), frames, true));
      }
      if (families.flow || families.hift) {
        int64_t frames = ref.frames[s];
        mels_tf.push_back(families.flow && !ref_flow_tokens.empty()
                              ? RenderMel(m, *c.voice, ref_flow_tokens, opt, &frames)
                              : ref.mels[s]);
        frames_tf.push_back(frames);
        if (frames > 0) Append(wav_tf, m.vocoder->Run(mels_tf.back().data(), frames, true));
      }
    }
    if (families.llm) {
      r.logits = logits.Result();
      r.token_edit_distance = NormalizedEditDistance(all_ref_tokens, all_var_tokens);
      if (!ref.wav.empty()) r.duration_ratio = DurationRatio(ref.wav.size(), wav_free.size());
    } else {
      wav_free = wav_tf;
    }
    int64_t ref_frames = 0, var_frames = 0;
    const std::vector<float> ref_mel = FramesMajor(ref.mels, ref.frames, bins, &ref_frames);
    if (families.flow && ref_frames > 0) {
      const std::vector<float> var_mel = FramesMajor(mels_tf, frames_tf, bins, &var_frames);
      r.mel_l1 = MeanAbsoluteDifference(ref_mel.data(), var_mel.data(), ref_mel.size());
      r.mel_lsd_db = LogMelSpectralDistance(ref_mel.data(), var_mel.data(), ref_frames, bins);
    }
    if ((families.flow || families.hift) && !ref.wav.empty() && !wav_tf.empty()) {
      const int sr = m.bundle.sample_rate;
      F0Options fo;
      fo.hop = sr / 100;
      fo.window = sr / 50;
      r.f0 = CompareF0(EstimateF0(ref.wav.data(), ref.wav.size(), sr, fo),
                       EstimateF0(wav_tf.data(), wav_tf.size(), sr, fo));
    }
    const std::vector<float> spk = SpeakerOf(m, wav_free);
    if (!spk.empty() && spk.size() == ref.speaker.size())
      r.speaker_cosine = CosineSimilarity(ref.speaker.data(), spk.data(), spk.size());

    if (!options_.image_dir.empty() && ref_frames > 0) {
      const std::string base = options_.image_dir + "/" + c.id;
      const std::string link = options_.image_link_prefix + c.id;
      std::vector<float> a, b;
      int64_t fa = 0, fb = 0, nb = bins;
      double hi = 0, range = kMelRange, diff = kMelDiffRange;
      if (families.hift && !families.flow && !families.llm) {  // the mel is the same: show the audio
        a = LogPower(ref.wav, &fa, &nb);
        b = LogPower(wav_tf, &fb, &nb);
        range = 80.0, diff = 10.0;
      } else {
        a = ref_mel, fa = ref_frames;
        b = families.flow ? FramesMajor(mels_tf, frames_tf, bins, &fb)
                          : FramesMajor(mels_free, frames_free, bins, &fb);
      }
      hi = MaxOf(a);
      if (fa > 0 && fb > 0) {
        const int px = static_cast<int>(std::clamp<int64_t>(600 / std::max(fa, fb), 1, 4));  // ~600 px wide
        const int py = nb > 200 ? 1 : 2;
        WritePng(base + ".ref.png", RenderSpectrogram(a.data(), fa, nb, hi - range, hi, px, py));
        WritePng(base + ".var.png", RenderSpectrogram(b.data(), fb, nb, hi - range, hi, px, py));
        WritePng(base + ".diff.png",
                 RenderDifference(b.data(), a.data(), std::min(fa, fb), nb, diff, px, py));
        r.images = {link + ".ref.png", link + ".var.png", link + ".diff.png"};
      }
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace cosyvoice::quality
