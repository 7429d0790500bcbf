// tests/golden/test_engine_golden.cc - the engine against the PyTorch reference's goldens on the
// tiny model (models/tiny/{bundle,goldens}, docs/goldens.md), stage by stage and end to end.
//
// Tolerances (docs/parity.md):
//   token ids, speech tokens, sampled sequences ............ exact
//   features (log domain) .................................. 1e-4 absolute
//   speaker embedding, LLM input and logits ................ 1e-4 relative to the largest |value|
//   flow encoder output (mu) ............................... 1e-4 absolute
//   flow mel (10 Euler steps through the DiT) .............. 1e-4 absolute
//   F0, generator spectrum ................................. 1e-4 relative
//   NSF excitation ......................................... 1e-5 absolute
//   waveform (offline and every streaming chunk, every mode) 1e-4 absolute
#include <algorithm>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "common/sha256.h"
#include "engine/bistream_decoder.h"
#include "engine/model_impl.h"
#include "engine/sampler.h"
#include "goldens.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using nlohmann::json;
using testing::BundleDir;
using testing::Compare;
using testing::Diff;
using testing::GoldensDir;
using testing::Load;
using testing::ReadJson;
using testing::Report;

constexpr double kFeatureAbs = 1e-4;
constexpr double kRel = 1e-4;
constexpr double kMuAbs = 1e-4;
constexpr double kMelAbs = 1e-4;
constexpr double kHarmonicsAbs = 1e-5;
constexpr double kWavAbs = 1e-4;

class EngineGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    manifest_ = new json(ReadJson(GoldensDir() / "manifest.json"));
    ModelConfig c;
    c.model_dir = BundleDir().string();
    c.runtime.intra_op_threads = 1;
    model_ = new std::shared_ptr<const Model>(Model::Load(c));
    engine_ = &(*model_)->impl();
  }
  static void TearDownTestSuite() {
    engine_ = nullptr;
    delete model_;
    delete manifest_;
  }

  static std::filesystem::path PromptDir(const std::string &name) { return GoldensDir() / "prompts" / name; }
  static std::filesystem::path CaseDir(const json &c) {
    return GoldensDir() / c["dir"].get<std::string>();  // "cases/<name>"
  }

  // The voice exactly as the reference prepared it (so later stages see identical inputs).
  static Voice GoldenVoice(const std::string &prompt, const std::string &transcript) {
    Voice v;
    const auto d = PromptDir(prompt);
    v.transcript = transcript;
    v.speech_tokens = Load<int32_t>(d / "speech_tokens.npy");
    v.speaker_embedding = Load<float>(d / "embedding.npy");
    v.prompt_mel = Load<float>(d / "prompt_mel.npy");
    v.mel_bins = 80;
    v.source = prompt;
    return v;
  }

  static SynthesisOptions OptionsOf(const json &c) {
    SynthesisOptions o;
    const json &opt = c["options"];
    o.seed = c["seed"].is_null() ? 0 : c["seed"].get<uint64_t>();
    o.speed = opt["speed"].get<float>();
    o.stream = opt["stream"].get<bool>();
    o.n_timesteps = opt["n_timesteps"].get<int>();
    o.cfg_rate = opt["cfg_rate"].get<float>();
    if (!opt["min_tokens"].is_null()) o.min_tokens = opt["min_tokens"].get<int>();
    if (!opt["max_tokens"].is_null()) o.max_tokens = opt["max_tokens"].get<int>();
    o.text_normalization = false;  // the reference has no wetext counterpart (docs/goldens.md)
    return o;
  }

  static std::string Transcript(const json &c) {
    if (c.contains("transcript") && c["transcript"].is_string()) return c["transcript"].get<std::string>();
    std::ifstream in(PromptDir(c["prompt"].get<std::string>()) / "transcript.txt");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  static Mode ModeOf(const json &c) { return ParseMode(c["mode"].get<std::string>()); }

  static json *manifest_;
  static std::shared_ptr<const Model> *model_;
  static const Model::Impl *engine_;
};
json *EngineGolden::manifest_ = nullptr;
std::shared_ptr<const Model> *EngineGolden::model_ = nullptr;
const Model::Impl *EngineGolden::engine_ = nullptr;

TEST_F(EngineGolden, GoldensBelongToThisBundle) {
  ASSERT_FALSE((*manifest_)["bundle"].is_null()) << "goldens were generated without a bundle";
  EXPECT_EQ((*manifest_)["bundle"]["config_sha256"].get<std::string>(),
            Sha256File(BundleDir() / "config.json"))
      << "goldens and bundle are out of sync: run `make tiny-model`";
  EXPECT_GE((*manifest_)["cases"].size(), 8u);
}

TEST_F(EngineGolden, PromptFeaturesAndFrontendGraphs) {
  for (const json &p : (*manifest_)["prompts"]) {
    const std::string name = p["name"];
    const auto d = PromptDir(name);
    const auto x16 = Load<float>(d / "x16.npy"), x24 = Load<float>(d / "x24.npy");
    const FeatureMatrix whisper = WhisperLogMel(x16), fbank = KaldiFbank(x16), mel = MatchaMel(x24);
    const Diff dw = Compare(whisper.data, Load<float>(d / "whisper.npy"));
    const Diff df = Compare(fbank.data, Load<float>(d / "fbank.npy"));
    const Diff dm = Compare(mel.data, Load<float>(d / "mel.npy"));
    Report("features whisper", name, dw);
    Report("features fbank", name, df);
    Report("features mel", name, dm);
    EXPECT_LE(dw.max_abs, kFeatureAbs) << name;
    EXPECT_LE(df.max_abs, kFeatureAbs) << name;
    EXPECT_LE(dm.max_abs, kFeatureAbs) << name;

    // graphs on the reference's own features: tokens exact, embedding to 1e-4 relative
    const auto golden_whisper = Load<float>(d / "whisper.npy");
    const auto tokens =
        engine_->speech_tokenizer().Run(golden_whisper, static_cast<int64_t>(golden_whisper.size() / 128));
    EXPECT_EQ(tokens, Load<int32_t>(d / "speech_tokens_raw.npy")) << name;
    const auto golden_fbank = Load<float>(d / "fbank.npy");
    const auto emb = engine_->campplus().Run(golden_fbank, static_cast<int64_t>(golden_fbank.size() / 80));
    const Diff de = Compare(emb, Load<float>(d / "embedding.npy"));
    Report("campplus embedding", name, de);
    EXPECT_LE(de.rel(), kRel) << name;
  }
}

TEST_F(EngineGolden, VoiceFromThePromptFile) {
  for (const json &p : (*manifest_)["prompts"]) {
    const std::string name = p["name"];
    const auto d = PromptDir(name);
    const Voice v = engine_->CreateVoice(ReadAudio(d / "prompt.wav"), "t", name);
    const auto want_tokens = Load<int32_t>(d / "speech_tokens.npy");
    const Diff dt = Compare(v.speech_tokens, want_tokens);
    Report("voice tokens (from file)", name, dt);
    EXPECT_EQ(v.speech_tokens, want_tokens) << name;
    const Diff dm = Compare(v.prompt_mel, Load<float>(d / "prompt_mel.npy"));
    const Diff de = Compare(v.speaker_embedding, Load<float>(d / "embedding.npy"));
    Report("voice prompt mel (from file)", name, dm);
    Report("voice embedding (from file)", name, de);
    // From the file, C++ resampling (float64 accumulation) differs from torchaudio's float32 conv at
    // ~1e-7, which the log of nearly empty mel bands amplifies (tests/golden/test_frontend_golden.cc).
    EXPECT_LE(dm.max_abs, 2e-3) << name;
    EXPECT_LE(de.rel(), 1e-3) << name;
  }
}

TEST_F(EngineGolden, TextPlansTokenIdsAndLlmInput) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c["mode"] == "vc" || c.value("bistream", false)) continue;
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
    SynthesisRequest r;
    r.mode = ModeOf(cj);
    r.text = cj["text"];
    r.voice = &voice;
    if (cj["instruct"].is_string()) r.instruct = cj["instruct"];
    const auto plans = engine_->PlanSegments(r, OptionsOf(cj));
    ASSERT_EQ(plans.size(), cj["segments"].size()) << c["name"];
    for (size_t s = 0; s < plans.size(); ++s) {
      const json &seg = cj["segments"][s];
      const std::string pre = CaseDir(c).string() + "/seg" + std::to_string(s) + "_";
      EXPECT_EQ(plans[s].text, seg["tts_text"].get<std::string>()) << c["name"];
      EXPECT_EQ(plans[s].text_ids, Load<int32_t>(pre + "text_ids.npy")) << c["name"];
      EXPECT_EQ(plans[s].prompt_ids, Load<int32_t>(pre + "prompt_ids.npy")) << c["name"];
      const Diff d = Compare(engine_->LmInput(plans[s], voice), Load<float>(pre + "lm_input.npy"));
      Report("llm input", c["name"].get<std::string>() + " seg" + std::to_string(s), d);
      EXPECT_EQ(d.max_abs, 0.0) << "the LLM input is a gather of the same tables";
    }
  }
}

TEST_F(EngineGolden, TeacherForcedLogitsAndSamplerReplay) {
  const LlmConfig &l = engine_->bundle.llm;
  for (const json &c : (*manifest_)["cases"]) {
    if (c["mode"] == "vc" || c.value("bistream", false)) continue;
    const json cj = ReadJson(CaseDir(c) / "case.json");
    for (size_t s = 0; s < cj["segments"].size(); ++s) {
      const json &seg = cj["segments"][s];
      const std::string pre = CaseDir(c).string() + "/seg" + std::to_string(s) + "_";
      const auto lm_input = Load<float>(pre + "lm_input.npy");
      const auto tokens = Load<int32_t>(pre + "tokens.npy");
      const NpyArray logits = NpyArray::Load(pre + "logits.npy");
      const int64_t steps = logits.dim(0), vocab = logits.dim(1);
      ASSERT_EQ(vocab, l.speech_vocab_size);
      const std::string what = c["name"].get<std::string>() + " seg" + std::to_string(s);

      // C++ logits, teacher-forced on the reference's tokens
      KvCache cache(engine_->llm->shape(), static_cast<int64_t>(lm_input.size()) / l.hidden_size + steps);
      LlmGraph::RunState run(*engine_->llm);
      Diff worst;
      std::vector<float> cpp_logits;
      for (int64_t i = 0; i < steps; ++i) {
        const float *out =
            i == 0 ? engine_->llm->Forward(run, lm_input.data(),
                                           static_cast<int64_t>(lm_input.size()) / l.hidden_size, cache)
                   : engine_->llm->Forward(
                         run, engine_->speech_embedding->Row(tokens[static_cast<size_t>(i - 1)]), 1, cache);
        std::vector<float> row(out, out + vocab),
            ref(logits.data<float>() + i * vocab, logits.data<float>() + (i + 1) * vocab);
        const Diff d = Compare(row, ref);
        if (d.rel() > worst.rel()) worst = d;
        cpp_logits.insert(cpp_logits.end(), row.begin(), row.end());
      }
      Report("llm logits (teacher forced)", what, worst);
      EXPECT_LE(worst.rel(), kRel) << what;

      // The sampler replayed over the reference's logits must give its tokens and stop id exactly,
      // and over the C++ logits the same sequence (same seed -> same tokens).
      for (const bool use_cpp : {false, true}) {
        RasSampler sampler({l.sampling.top_p, l.sampling.top_k, l.sampling.win_size, l.sampling.tau_r},
                           l.stop_begin, l.stop_end, seg["seed"].get<uint64_t>());
        std::vector<int> emitted;
        int stop = -1;
        for (int64_t i = 0; i < steps; ++i) {
          const float *row = (use_cpp ? cpp_logits.data() : logits.data<float>()) + i * vocab;
          const int t = sampler.Sample(row, static_cast<int>(vocab), emitted, i < seg["min_len"].get<int>());
          if (l.IsStop(t)) {
            stop = t;
            break;
          }
          emitted.push_back(t);
        }
        EXPECT_EQ(emitted, std::vector<int>(tokens.begin(), tokens.end()))
            << what << (use_cpp ? " (C++ logits)" : "");
        EXPECT_EQ(stop, seg["stop_token"].is_null() ? -1 : seg["stop_token"].get<int>()) << what;
      }
    }
  }
}

TEST_F(EngineGolden, FlowEncoderAndSolver) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c.value("bistream", false)) continue;  // no per-segment stages: TextStreamEqualsTheReference
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
    const SynthesisOptions o = OptionsOf(cj);
    for (size_t s = 0; s < cj["segments"].size(); ++s) {
      const std::string pre = CaseDir(c).string() + "/seg" + std::to_string(s) + "_";
      const std::string what = c["name"].get<std::string>() + " seg" + std::to_string(s);
      const auto flow_tokens = Load<int32_t>(pre + "flow_tokens.npy");
      std::vector<int64_t> all(voice.speech_tokens.begin(), voice.speech_tokens.end());
      all.insert(all.end(), flow_tokens.begin(), flow_tokens.end());
      const auto enc = engine_->flow_encoder->Run(all, voice.speaker_embedding);
      const Diff dmu = Compare(enc.mu, Load<float>(pre + "mu.npy"));
      Report("flow encoder mu", what, dmu);
      EXPECT_LE(dmu.max_abs, kMuAbs) << what;
      if (!std::filesystem::exists(pre + "mel.npy")) continue;  // streaming cases: chunks below
      FlowInput in = Model::Impl::PromptFlowInput(voice);
      in.tokens = flow_tokens;
      int64_t frames = 0;
      const auto mel = engine_->flow->Run(in, {*o.n_timesteps, *o.cfg_rate}, &frames);
      const Diff dmel = Compare(mel, Load<float>(pre + "mel.npy"));
      Report("flow mel (10 steps, cfg)", what, dmel);
      EXPECT_LE(dmel.max_abs, kMelAbs) << what;
    }
  }
}

TEST_F(EngineGolden, VocoderStages) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c.value("bistream", false)) continue;  // no per-segment stages: TextStreamEqualsTheReference
    const json cj = ReadJson(CaseDir(c) / "case.json");
    for (size_t s = 0; s < cj["segments"].size(); ++s) {
      const std::string pre = CaseDir(c).string() + "/seg" + std::to_string(s) + "_";
      const std::string what = c["name"].get<std::string>() + " seg" + std::to_string(s);
      if (!std::filesystem::exists(pre + "f0.npy")) continue;
      const std::string mel_file =
          std::filesystem::exists(pre + "mel_speed.npy") ? "mel_speed.npy" : "mel.npy";
      const NpyArray mel = NpyArray::Load(pre + mel_file);
      const int64_t frames = mel.dim(1);
      const auto f0 = engine_->hift_f0->Run(mel.data<float>(), frames);
      const Diff df0 = Compare(f0, Load<float>(pre + "f0.npy"));
      Report("hift f0", what, df0);
      EXPECT_LE(df0.rel(), kRel) << what;
      if (std::filesystem::exists(pre + "harmonics.npy")) {
        // excitation from the reference's own F0 (isolates the source), then the generator graph
        const auto golden_f0 = Load<float>(pre + "f0.npy");
        const HiftConfig &h = engine_->bundle.hift;
        const NsfSourceParams p = SourceParamsFrom(h);
        SourceNoise noise(h.source_noise.seed, h.source_noise.skip, p.num_harmonics);
        const auto harmonics = NsfHarmonics(golden_f0, p, noise);
        const auto golden_harmonics = Load<float>(pre + "harmonics.npy");
        const Diff dh = Compare(harmonics, golden_harmonics);
        Report("nsf excitation", what, dh);
        EXPECT_LE(dh.max_abs, kHarmonicsAbs) << what;
        const auto spec = engine_->hift_generator->Run(mel.data<float>(), frames, golden_harmonics);
        const Diff dr = Compare(spec.real, Load<float>(pre + "real.npy"));
        const Diff di = Compare(spec.imag, Load<float>(pre + "imag.npy"));
        Report("hift spectrum real", what, dr);
        Report("hift spectrum imag", what, di);
        EXPECT_LE(dr.rel(), kRel) << what;
        EXPECT_LE(di.rel(), kRel) << what;
      }
      const auto wav = engine_->vocoder->Run(mel.data<float>(), frames, true);
      const Diff dw = Compare(wav, Load<float>(pre + "wav.npy"));
      Report("vocoder waveform", what, dw);
      EXPECT_LE(dw.max_abs, kWavAbs) << what;
    }
  }
}

// Every text/VC case end to end. A streamed case is the reference's chunks: upstream's recompute
// loop (which the engine's recompute and exact modes must both reproduce, docs/streaming.md) or the
// incremental "fast" schedule; both compare every chunk.
TEST_F(EngineGolden, EndToEndEveryMode) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c.value("bistream", false)) continue;  // text-in streaming: TextStreamEqualsTheReference
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const bool stream = cj["options"]["stream"].get<bool>();
    const std::string mode = cj["options"].value("stream_mode", "recompute");
    std::vector<StreamMode> modes = {StreamMode::kExact};
    if (stream && mode == "recompute") modes = {StreamMode::kRecompute, StreamMode::kExact};
    if (stream && mode == "fast") modes = {StreamMode::kFast};
    for (StreamMode m : modes) {
      const std::string what = c["name"].get<std::string>() + (stream ? std::string(" ") + StreamModeName(m) : "");
      const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
      SynthesisRequest r;
      r.mode = ModeOf(cj);
      r.voice = &voice;
      if (cj["text"].is_string()) r.text = cj["text"];
      if (cj["instruct"].is_string()) r.instruct = cj["instruct"];
      Audio source;
      if (r.mode == Mode::kVoiceConversion) {
        source = ReadAudio(CaseDir(c) / cj["source_wav"].get<std::string>());
        r.source_audio = &source;
      }
      SynthesisOptions options = OptionsOf(cj);
      options.stream_mode = m;
      std::vector<size_t> chunk_sizes;
      SynthesisStats st;
      Session session(*model_);
      const Audio out = session.Synthesize(
          r, options,
          [&](const AudioChunk &ch) {
            chunk_sizes.push_back(ch.num_samples);
            return true;
          },
          &st);
      const Diff d = Compare(out.samples, Load<float>(CaseDir(c) / "wav.npy"));
      Report("end to end waveform", what, d);
      EXPECT_LE(d.max_abs, kWavAbs) << what;
      if (!stream) continue;
      const json chunks = ReadJson(CaseDir(c) / "chunks.json");
      std::vector<size_t> want;
      for (const json &ch : chunks["chunks"]) want.push_back(ch["samples"].get<size_t>());
      EXPECT_EQ(chunk_sizes, want) << what << ": streaming schedule";
      EXPECT_GE(want.size(), 3u) << what << ": a streamed case should have several chunks";
      size_t at = 0;
      for (size_t i = 0; i < want.size() && at <= out.samples.size(); ++i) {
        const auto golden = Load<float>(CaseDir(c) / ("chunk" + std::to_string(i) + "_wav.npy"));
        const size_t end = std::min(out.samples.size(), at + golden.size());
        const std::vector<float> got(out.samples.begin() + static_cast<std::ptrdiff_t>(at),
                                     out.samples.begin() + static_cast<std::ptrdiff_t>(end));
        const Diff dc = Compare(got, golden);
        Report("streaming chunk", what + " chunk" + std::to_string(i), dc);
        EXPECT_LE(dc.max_abs, kWavAbs) << what;
        at += golden.size();
      }
    }
  }
}


// Text-in streaming (upstream's bistream, python/cosyvoice_export/bistream.py): each piece tokenized
// on its own; the interleaved decode loop on the C++ LLM gives the reference's every sampled id
// (fills included) and emitted token exactly (same seed, logits within 1e-4: the sampler's choice
// is the same, as in TeacherForcedLogitsAndSamplerReplay); end to end through Session with a text
// source, the offline waveform within 1e-4, and streamed (exact) the same length in several chunks.
TEST_F(EngineGolden, TextStreamEqualsTheReference) {
  const LlmConfig &l = engine_->bundle.llm;
  int cases = 0;
  for (const json &c : (*manifest_)["cases"]) {
    if (!c.value("bistream", false)) continue;
    ++cases;
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const std::string what = c["name"];
    const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
    SynthesisRequest r;
    r.mode = ModeOf(cj);
    r.voice = &voice;
    if (cj["instruct"].is_string()) r.instruct = cj["instruct"];
    const std::vector<int32_t> prompt_ids = engine_->TextStreamPrompt(r);
    EXPECT_EQ(prompt_ids, engine_->text->Encode(cj["prompt_text"].get<std::string>())) << what;

    std::vector<std::vector<int32_t>> pieces;
    for (size_t i = 0; i < cj["pieces"].size(); ++i) {
      const std::string piece = cj["pieces"][i];
      pieces.push_back(piece.empty() ? std::vector<int32_t>{} : engine_->text->Encode(piece));
      EXPECT_EQ(pieces.back(), Load<int32_t>(CaseDir(c) / ("piece" + std::to_string(i) + "_ids.npy")))
          << what << " piece " << i;
    }
    const json &opt = cj["options"];
    RasSampler sampler({l.sampling.top_p, l.sampling.top_k, l.sampling.win_size, l.sampling.tau_r}, l.stop_begin,
                       l.stop_end, cj["seed"].get<uint64_t>());
    BistreamDecoder::Config config;
    config.mix_text = l.mix_text;
    config.mix_speech = l.mix_speech;
    config.max_token_text_ratio = l.max_token_text_ratio;
    if (!opt["max_tokens"].is_null()) config.max_tokens = opt["max_tokens"].get<int>();
    const std::vector<int32_t> speech = r.mode == Mode::kZeroShot ? voice.speech_tokens : std::vector<int32_t>{};
    BistreamDecoder decoder(*engine_->llm, *engine_->text_embedding, *engine_->speech_embedding, l, config,
                            prompt_ids, engine_->bundle.tokenizer.endofprompt_id, speech, sampler);
    std::vector<int32_t> tokens;
    auto collect = [&](int t) {
      tokens.push_back(t);
      return true;
    };
    for (const auto &ids : pieces) decoder.Push(ids, collect);
    decoder.Finish(collect);
    const auto sampled = Load<int32_t>(CaseDir(c) / "sampled.npy");
    EXPECT_EQ(decoder.sampled(), std::vector<int>(sampled.begin(), sampled.end())) << what << ": sampled ids";
    EXPECT_EQ(tokens, Load<int32_t>(CaseDir(c) / "tokens.npy")) << what << ": emitted tokens";
    EXPECT_GE(std::count(sampled.begin(), sampled.end(), l.fill), 2) << what << ": the case should interleave";

    for (const bool stream : {false, true}) {
      size_t next = 0;
      r.text_source = [&](std::string &piece) {
        if (next == cj["pieces"].size()) return false;
        piece = cj["pieces"][next++].get<std::string>();
        return true;
      };
      SynthesisOptions o;
      o.seed = cj["seed"].get<uint64_t>();
      o.n_timesteps = opt["n_timesteps"].get<int>();
      o.cfg_rate = opt["cfg_rate"].get<float>();
      if (!opt["max_tokens"].is_null()) o.max_tokens = opt["max_tokens"].get<int>();
      o.stream = stream;
      size_t chunks = 0;
      Session session(*model_);
      const Audio out = session.Synthesize(r, o, [&](const AudioChunk &ch) {
        chunks += ch.num_samples > 0;
        return true;
      });
      const auto golden = Load<float>(CaseDir(c) / "wav.npy");
      if (!stream) {
        const Diff d = Compare(out.samples, golden);
        Report("text stream waveform (offline flow)", what, d);
        EXPECT_LE(d.max_abs, kWavAbs) << what;
      } else {
        EXPECT_EQ(out.samples.size(), golden.size()) << what << " streamed";
        EXPECT_GE(chunks, 2u) << what << " streamed";
      }
    }
  }
  EXPECT_GE(cases, 2) << "the goldens should have text-in streaming cases";
}

}  // namespace
}  // namespace cosyvoice
