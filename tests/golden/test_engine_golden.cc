// tests/golden/test_engine_golden.cc - the engine against the PyTorch reference's goldens on the
// tiny model (models/tiny/{bundle,goldens}, docs/goldens.md), stage by stage and end to end.
//
// Tolerances (docs/parity.md), each derived from the float32 error of what it checks:
//   token ids, LLM input (a gather) ........................ exact
//   speech tokens .......................................... exact (same graph, same features; see parity.md)
//   sampled sequences ...................................... exact while every step's logit difference is
//                                                            below that step's stability margin (goldens'
//                                                            seg*_sampling_margin.npy, determinism.md §8)
//   features (log domain) .................................. elementwise, feature_bounds.h
//   CAM++ embedding, LLM logits, flow mu, F0, spectrum ..... the manifest's parity_bounds (written by
//   flow mel, waveform                                       goldens.py from the modules' float32 chains,
//                                                            fp32_bounds.py), times the named scale
//   NSF excitation ......................................... same float32 op order: sin kernels only
//   streaming chunks (recompute, exact, fast) .............. the waveform bound, per chunk
//   text-in streaming: sampled ids with fills ............... exact unless a near tie (margin below the
//                                                            logit bound at the first difference)
#include <algorithm>
#include <chrono>
#include <fstream>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "common/half.h"
#include "common/sha256.h"
#include "engine/bistream_decoder.h"
#include "engine/incremental_flow.h"
#include "engine/incremental_vocoder.h"
#include "engine/model_impl.h"
#include "engine/optimize_bundle.h"
#include "engine/resolved_options.h"
#include "engine/sampler.h"
#include "engine/streaming_state.h"
#include "feature_bounds.h"
#include "fp32_bounds.h"
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
using testing::TinyDir;

// The excitation is computed in the reference's float32 operation order (spec-verification C.1), so
// the phases are identical; the sines differ by the sin kernels (kFnUlps) and the products and sum
// (3 roundings) on terms <= sine_amp + sine_amp / 3 (noise amplitude of unvoiced frames).
constexpr double kHarmonicsAbs = testing::Pair(testing::Chain({3}, 1), 0.1 + 0.1 / 3);

class EngineGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    manifest_ = new json(ReadJson(GoldensDir() / "manifest.json"));
    ModelConfig c;
    c.model_dir = BundleDir().string();
    c.runtime.intra_op_threads = testing::TestThreads();
    testing::ApplyTestProviders(c.runtime);
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
  // The request of case `c` (its case.json `cj`) on `voice`; a voice conversion case's source
  // recording is read into `source`, which the request points at.
  // The golden case `c` synthesized offline or streamed as it says, with `model`: its samples.
  static std::vector<float> CaseSamples(const std::shared_ptr<const Model> &model, const json &c) {
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
    Audio source;
    const SynthesisRequest r = RequestOf(c, cj, voice, source);
    Session session(model);
    return session.Synthesize(r, OptionsOf(cj)).samples;
  }

  static SynthesisRequest RequestOf(const json &c, const json &cj, const Voice &voice, Audio &source) {
    SynthesisRequest r;
    r.mode = ModeOf(cj);
    r.voice = &voice;
    if (cj["text"].is_string()) r.text = cj["text"];
    if (cj["instruct"].is_string()) r.instruct = cj["instruct"];
    if (r.mode == Mode::kVoiceConversion) {
      source = ReadAudio(CaseDir(c) / cj["source_wav"].get<std::string>());
      r.source_audio = &source;
    }
    return r;
  }

  // The derived bound `name` of the manifest's parity_bounds (goldens.py), times its scale.
  static double Bound(const std::string &name, double scale) {
    const json &b = (*manifest_)["parity_bounds"];
    if (!b.is_object() || !b.contains(name)) {
      ADD_FAILURE() << "goldens have no parity_bounds." << name << ": regenerate them (`make tiny-model`)";
      return 0.0;
    }
    return b[name]["value"].get<double>() * scale;
  }

  // The C++ logits of one segment, teacher-forced on the reference's tokens: [steps, vocab], through
  // `engine`'s LLM graph (the base bundle's when null).
  static std::vector<float> TeacherForcedLogits(const std::string &pre, int64_t steps, int64_t vocab,
                                                const Model::Impl *engine = nullptr) {
    const Model::Impl &e = engine != nullptr ? *engine : *engine_;
    const LlmConfig &l = e.bundle.llm;
    const auto lm_input = Load<float>(pre + "lm_input.npy");
    const auto tokens = Load<int32_t>(pre + "tokens.npy");
    const int64_t prefill = static_cast<int64_t>(lm_input.size()) / l.hidden_size;
    KvCache cache(e.llm->shape(), prefill + steps, e.llm->kv_layout());
    LlmGraph::RunState run(*e.llm);
    std::vector<float> embed(static_cast<size_t>(l.hidden_size)), out_logits;
    for (int64_t i = 0; i < steps; ++i) {
      const float *out = nullptr;
      if (i == 0) {
        out = e.llm->Forward(run, lm_input.data(), prefill, cache);
      } else {
        e.speech_embedding->CopyRow(tokens[static_cast<size_t>(i - 1)], embed.data());
        out = e.llm->Forward(run, embed.data(), 1, cache);
      }
      out_logits.insert(out_logits.end(), out, out + vocab);
    }
    return out_logits;
  }

  // Every golden LLM segment through `engine`: logits within the derived bound, sampler replay.
  static void CheckTeacherForcedLogits(const Model::Impl &engine, const std::string &label);
  // The flow encoder's mu and the solver's mel of every golden segment, within flow_mu and flow_mel.
  static void CheckFlow(const Model::Impl &engine, const std::string &label);
  // Every mode end to end through a Session of `model` (streamed cases in their schedules), within
  // waveform_from_flow.
  static void CheckEndToEnd(const std::shared_ptr<const Model> &model, const std::string &label);

  // The first step of a segment whose C++ logits differ from the reference's by at least the step's
  // stability margin: there the sampled sequences may part legitimately (a near tie); -1 if none.
  static int64_t FirstNearTie(const std::string &pre, const std::vector<float> &cpp_logits, int64_t vocab) {
    const auto margins = Load<float>(pre + "sampling_margin.npy");
    const NpyArray logits = NpyArray::Load(pre + "logits.npy");
    for (size_t i = 0; i < margins.size(); ++i) {
      double d = 0;
      for (int64_t v = 0; v < vocab; ++v) {
        const double a = cpp_logits[i * static_cast<size_t>(vocab) + static_cast<size_t>(v)];
        const double b = logits.data<float>()[i * static_cast<size_t>(vocab) + static_cast<size_t>(v)];
        if (std::isfinite(a) || std::isfinite(b)) d = std::max(d, std::fabs(a - b));
      }
      if (d >= static_cast<double>(margins[i])) return static_cast<int64_t>(i);
    }
    return -1;
  }

  // Whether a case holds a near tie in any segment (then its end-to-end output may part from the
  // reference's, and only the stages before the tie can be compared).
  static std::string NearTieIn(const json &cj, const std::string &case_dir) {
    for (size_t s = 0; s < cj["segments"].size(); ++s) {
      const std::string pre = case_dir + "/seg" + std::to_string(s) + "_";
      if (!std::filesystem::exists(pre + "logits.npy")) continue;
      const NpyArray logits = NpyArray::Load(pre + "logits.npy");
      const int64_t step =
          FirstNearTie(pre, TeacherForcedLogits(pre, logits.dim(0), logits.dim(1)), logits.dim(1));
      if (step >= 0) return "segment " + std::to_string(s) + " step " + std::to_string(step);
    }
    return "";
  }

  static json *manifest_;

  // The quantized tiny bundle at `precision` (default fp32, which prefers the first fp32 variant with
  // gate status "parity" over the base files); checks that `family` runs `variant`.
  static std::shared_ptr<const Model> LoadFp32Variant(const std::string &family, const std::string &variant,
                                                      int threads, const std::string &precision = "fp32") {
    ModelConfig c;
    c.model_dir = (TinyDir() / "bundle-q").string();
    c.runtime.intra_op_threads = threads;
    c.precision = precision;
    auto model = Model::Load(c);
    int seen = 0;
    for (const auto &p : model->info().precisions) {
      if (p.family != family) continue;
      ++seen;
      EXPECT_EQ(p.variant, variant);
      EXPECT_EQ(p.gate, "parity");
    }
    EXPECT_EQ(seen, 1) << family;
    return model;
  }

  // The generator and the vocoder of `engine` on every segment's mel, against the reference, within
  // the manifest's bounds `spectrum_bound` and `waveform_bound` (the base graph's or a variant's).
  static void CheckGeneratorAndWaveform(const Model::Impl &engine, const std::string &what_prefix,
                                        const std::string &spectrum_bound, const std::string &waveform_bound);
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
    const auto golden_w = Load<float>(d / "whisper.npy"), golden_f = Load<float>(d / "fbank.npy"),
               golden_m = Load<float>(d / "mel.npy");
    Report("features whisper", name, Compare(whisper.data, golden_w));
    Report("features fbank", name, Compare(fbank.data, golden_f));
    Report("features mel", name, Compare(mel.data, golden_m));
    // elementwise: the FFT's float32 error amplified by the log of each band (feature_bounds.h)
    EXPECT_LE(testing::WorstRatio(whisper.data, golden_w, testing::WhisperBounds(x16, golden_w)), 1.0)
        << name;
    EXPECT_LE(testing::WorstRatio(fbank.data, golden_f, testing::FbankBounds(x16)), 1.0) << name;
    EXPECT_LE(testing::WorstRatio(mel.data, golden_m, testing::MatchaBounds(x24, golden_m)), 1.0) << name;

    // graphs on the reference's own features: tokens exact (the same graph on the same input; an FSQ
    // code flips only if a value lies within rounding of a level boundary, docs/parity.md), the
    // embedding within the CAM++ graph's float32 chain
    const auto golden_whisper = Load<float>(d / "whisper.npy");
    const auto tokens =
        engine_->speech_tokenizer().Run(golden_whisper, static_cast<int64_t>(golden_whisper.size() / 128));
    EXPECT_EQ(tokens, Load<int32_t>(d / "speech_tokens_raw.npy")) << name;
    const auto golden_fbank = Load<float>(d / "fbank.npy");
    const auto emb = engine_->campplus().Run(golden_fbank, static_cast<int64_t>(golden_fbank.size() / 80));
    const Diff de = Compare(emb, Load<float>(d / "embedding.npy"));
    Report("campplus embedding", name, de);
    EXPECT_LE(de.max_abs, Bound("campplus_embedding", de.max_ref)) << name;
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
    // From the file, our resampling (float64 accumulation) differs from torchaudio's float32
    // convolution by <= ResampleBound per sample, which enters every FFT bin and is amplified by the
    // log of near-empty bands: elementwise bounds (feature_bounds.h). The embedding sees the fbank's
    // differences through CAM++ (normalised layers, mean pooling over frames: first order, gain 1), so
    // the mean fbank bound adds to the graph's own float32 bound.
    const Audio audio = ReadAudio(d / "prompt.wav");
    AudioRequirements req;
    req.max_seconds = 0;
    const PromptAudio prompt = PreparePromptAudio(audio, name, req);
    const double dx16 = testing::ResampleBound(audio.samples, audio.sample_rate, 16000),
                 dx24 = testing::ResampleBound(audio.samples, audio.sample_rate, 24000);
    const auto golden_mel = Load<float>(d / "prompt_mel.npy");
    EXPECT_LE(
        testing::WorstRatio(v.prompt_mel, golden_mel, testing::MatchaBounds(prompt.x24, golden_mel, dx24)),
        1.0)
        << name;
    const std::vector<double> fb = testing::FbankBounds(prompt.x16, dx16);
    double fb_mean = 0;
    for (double b : fb) fb_mean += b;
    fb_mean /= static_cast<double>(fb.size());
    EXPECT_LE(de.max_abs, Bound("campplus_embedding", de.max_ref) + fb_mean * de.max_ref) << name;
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

void EngineGolden::CheckTeacherForcedLogits(const Model::Impl &engine, const std::string &label) {
  const LlmConfig &l = engine.bundle.llm;
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
      const std::vector<float> cpp_logits = TeacherForcedLogits(pre, steps, vocab, &engine);
      Diff worst;
      for (int64_t i = 0; i < steps; ++i) {
        std::vector<float> row(cpp_logits.begin() + i * vocab, cpp_logits.begin() + (i + 1) * vocab),
            ref(logits.data<float>() + i * vocab, logits.data<float>() + (i + 1) * vocab);
        const Diff d = Compare(row, ref);
        if (d.rel() > worst.rel()) worst = d;
      }
      Report(label, what, worst);
      EXPECT_LE(worst.max_abs, Bound("llm_logits", worst.max_ref)) << what;

      // The sampler replayed over the reference's logits gives its tokens and stop id exactly: the
      // same float32 inputs, float64 arithmetic in the same order, glibc's exp on both sides.
      // Over the C++ logits the sequence is the same only while each step's logit difference stays
      // below the step's stability margin (the largest change that provably cannot move the draw,
      // docs/determinism.md §8); from a step at or beyond it (a near tie) the sequences may part.
      const int64_t tie = FirstNearTie(pre, cpp_logits, vocab);
      if (tie >= 0)
        std::printf(
            "NEAR-TIE %s: step %lld's logit difference reaches its sampling margin; tokens compared "
            "up to it only\n",
            what.c_str(), static_cast<long long>(tie));
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
        std::vector<int> want(tokens.begin(), tokens.end());
        if (use_cpp && tie >= 0) {  // compare the steps before the near tie only
          const size_t n = static_cast<size_t>(tie);
          EXPECT_EQ(std::vector<int>(emitted.begin(), emitted.begin() + static_cast<std::ptrdiff_t>(
                                                                            std::min(n, emitted.size()))),
                    std::vector<int>(want.begin(),
                                     want.begin() + static_cast<std::ptrdiff_t>(std::min(n, want.size()))))
              << what << " (C++ logits, before the near tie)";
          continue;
        }
        EXPECT_EQ(emitted, want) << what << (use_cpp ? " (C++ logits)" : "");
        EXPECT_EQ(stop, seg["stop_token"].is_null() ? -1 : seg["stop_token"].get<int>()) << what;
      }
    }
  }
}

TEST_F(EngineGolden, TeacherForcedLogitsAndSamplerReplay) {
  EXPECT_EQ(engine_->llm->interface(), LlmGraph::Interface::kTraced);
  CheckTeacherForcedLogits(*engine_, "llm logits (teacher forced)");
}

// The fused fp32 LLM graph (docs/bundle.md §3.1b; `make tiny-model` writes models/tiny/bundle-q with
// `quantize --llm panel,fp32,int8,int4 --flow panel`), named (fp32 takes fp32-panel, listed first):
// the same goldens within the same bound.
TEST_F(EngineGolden, FusedFp32LlmVariantReproducesTheGoldens) {
  const auto model = LoadFp32Variant("llm", "fp32-fused", 1, "llm=fp32-fused");
  const Model::Impl &fused = model->impl();
  ASSERT_EQ(fused.llm->interface(), LlmGraph::Interface::kFused);
  CheckTeacherForcedLogits(fused, "fused llm logits (teacher forced)");
}

// The fp32-panel LLM graph (the fused graph with its products as the project's PanelMatMul, whose
// weights ONNX Runtime does not pack at load; docs/quantization.md §7.2): the same goldens within the
// same bound, a K-term dot product in another order being within the same float32 error.
TEST_F(EngineGolden, PanelFp32LlmVariantReproducesTheGoldens) {
  const auto model = LoadFp32Variant("llm", "fp32-panel", 1);
  const Model::Impl &panel = model->impl();
  ASSERT_EQ(panel.llm->interface(), LlmGraph::Interface::kFused);
  CheckTeacherForcedLogits(panel, "fp32-panel llm logits (teacher forced)");
}

// Graphs optimized once by `cosyvoice optimize` (docs/bundle.md §8): ONNX Runtime ran the same
// optimizations when it wrote them and loads the weights it pre-packed then, so every kernel sees
// the same graph and the same packed weights as a session that optimizes at load: the outputs must
// be bit-identical, not merely within the parity bounds. A manifest made for another CPU is refused
// (plain graphs, same output).
TEST_F(EngineGolden, OptimizedGraphsAreBitIdenticalAndOnlyUsedOnTheirTarget) {
  testing::TempDir tmp;
  OptimizeBundleOptions o;
  o.bundle_dir = BundleDir();
  o.out_dir = tmp / "optimized";
  o.runtime = engine_->config.runtime;
  const OptimizedGraphsManifest manifest = OptimizeBundle(o);
  size_t graphs = 0;
  for (const auto &[rel, f] : engine_->bundle.files)
    graphs += rel.size() > 5 && rel.substr(rel.size() - 5) == ".onnx";
  EXPECT_EQ(manifest.graphs.size(), graphs);

  ModelConfig c = engine_->config;
  c.runtime.graph_overrides.clear();
  c.optimized_dir = o.out_dir.string();
  const auto optimized = Model::Load(c);
  EXPECT_EQ(optimized->info().optimized_graphs, 5);  // every synthesis graph, none fell back
  EXPECT_TRUE(optimized->impl().speech_tokenizer().optimized());
  EXPECT_TRUE(optimized->impl().campplus().optimized());
  EXPECT_EQ(optimized->info().optimized_dir, o.out_dir.string());
  CheckTeacherForcedLogits(optimized->impl(), "llm logits (optimized graphs)");

  OptimizedGraphsManifest other = manifest;
  other.target.cpu += " avx512f-from-elsewhere";
  other.Save(o.out_dir);
  const auto refused = Model::Load(c);
  EXPECT_EQ(refused->info().optimized_graphs, 0);

  for (const json &cs : (*manifest_)["cases"]) {
    if (cs.value("bistream", false)) continue;  // text-in streaming: TextStreamEqualsTheReference
    const std::vector<float> plain = CaseSamples(*model_, cs);
    EXPECT_EQ(CaseSamples(optimized, cs), plain) << cs["name"].get<std::string>() << ": optimized graphs";
    EXPECT_EQ(CaseSamples(refused, cs), plain)
        << cs["name"].get<std::string>() << ": refused optimized graphs";
  }

  // The load's checksums cover the optimized files in use, against the manifest (docs/bundle.md §4.1).
  manifest.Save(o.out_dir);
  const OptimizedFile &graph = manifest.graphs.at(engine_->bundle.hift.f0).graph;
  const std::filesystem::path damaged = o.out_dir / graph.path;
  const auto mtime = std::filesystem::last_write_time(damaged);
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(graph.bytes / 2));
    f.put('\x7f');  // same size, other bytes
  }
  std::filesystem::last_write_time(damaged, mtime + std::chrono::seconds(1));
  c.verify_checksums = true;
  EXPECT_COSY_ERROR(Model::Load(c), ErrorCode::kBundle, damaged.string() + ": crc32c ");
  EXPECT_COSY_ERROR(Model::Load(c), ErrorCode::kBundle,
                    "does not match " + (o.out_dir / "manifest.json").string());
}

// `cosyvoice optimize` saves no pre-packed weights for the streaming chunk graph (mapped from the
// data file they made every full-size chunk slower, engine/optimize_bundle.cc); the offline estimator
// keeps them. A graph's data file holds its weights and, with pre-packs, a second packed copy of them:
// more bytes than the whole source graph. external_min_bytes is lowered so that the tiny model's
// weights leave the graph as the full-size ones do. The chunk graph read from that directory streams
// bit-identically to the plain one.
TEST_F(EngineGolden, OptimizeSavesNoPrePackedWeightsForTheChunkGraph) {
  const std::string chunk = engine_->bundle.flow.estimator_chunk.file;
  const std::string estimator = engine_->bundle.flow.estimator;
  ASSERT_FALSE(chunk.empty());
  testing::TempDir tmp;
  OptimizeBundleOptions o;
  o.bundle_dir = BundleDir();
  o.out_dir = tmp / "optimized";
  o.runtime = engine_->config.runtime;
  o.runtime.graph_overrides.clear();
  o.external_min_bytes = 1024;
  const OptimizedGraphsManifest manifest = OptimizeBundle(o);
  auto data_bytes = [&](const std::string &rel) {
    int64_t n = 0;
    for (const OptimizedFile &f : manifest.graphs.at(rel).data) n += f.bytes;
    return n;
  };
  EXPECT_GT(data_bytes(estimator), manifest.graphs.at(estimator).source_bytes)
      << "the estimator's pre-packed weights are missing: the size test cannot tell them apart";
  EXPECT_GT(data_bytes(chunk), 0) << "the chunk graph's weights stayed in the graph";
  EXPECT_LT(data_bytes(chunk), manifest.graphs.at(chunk).source_bytes) << "pre-packed weights saved";

  ModelConfig c = engine_->config;
  c.runtime.graph_overrides.clear();
  c.optimized_dir = o.out_dir.string();
  const auto optimized = Model::Load(c);
  int streamed = 0;
  for (const json &cs : (*manifest_)["cases"]) {
    if (!cs.value("stream", false) || cs["mode"] == "vc") continue;
    EXPECT_EQ(CaseSamples(optimized, cs), CaseSamples(*model_, cs)) << cs["name"].get<std::string>();
    ++streamed;
  }
  EXPECT_GT(streamed, 0);
  EXPECT_TRUE(optimized->impl().flow_chunk()->optimized());
}

void EngineGolden::CheckFlow(const Model::Impl &engine, const std::string &label) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c.value("bistream", false)) continue;  // no per-segment stages: TextStreamEqualsTheReference
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
    const SynthesisOptions o = OptionsOf(cj);
    for (size_t s = 0; s < cj["segments"].size(); ++s) {
      const std::string pre = CaseDir(c).string() + "/seg" + std::to_string(s) + "_";
      const std::string what = label + c["name"].get<std::string>() + " seg" + std::to_string(s);
      const auto flow_tokens = Load<int32_t>(pre + "flow_tokens.npy");
      std::vector<int64_t> all(voice.speech_tokens.begin(), voice.speech_tokens.end());
      all.insert(all.end(), flow_tokens.begin(), flow_tokens.end());
      const auto enc = engine.flow_encoder->Run(all, voice.speaker_embedding);
      const Diff dmu = Compare(enc.mu, Load<float>(pre + "mu.npy"));
      Report("flow encoder mu", what, dmu);
      EXPECT_LE(dmu.max_abs, Bound("flow_mu", dmu.max_ref)) << what;
      if (!std::filesystem::exists(pre + "mel.npy")) continue;  // streaming cases: chunks below
      FlowInput in = Model::Impl::PromptFlowInput(voice);
      in.tokens = flow_tokens;
      int64_t frames = 0;
      const auto mel = engine.flow->Run(in, {*o.n_timesteps, *o.cfg_rate}, &frames);
      const Diff dmel = Compare(mel, Load<float>(pre + "mel.npy"));
      Report("flow mel (10 steps, cfg)", what, dmel);
      EXPECT_LE(dmel.max_abs, Bound("flow_mel", std::max(1.0, dmel.max_ref))) << what;
    }
  }
}

TEST_F(EngineGolden, FlowEncoderAndSolver) {
  CheckFlow(*engine_, "");
}

// The flow variant fp32-panel (the DiT's weight products as the project's PanelMatMul, both DiT
// graphs; docs/quantization.md §7.2): the same goldens within the same bounds, offline here and
// streamed (its chunk graph) in PanelVariantsReproduceTheGoldensEndToEnd.
TEST_F(EngineGolden, PanelFlowVariantReproducesTheGoldens) {
  const auto model = LoadFp32Variant("flow", "fp32-panel", testing::TestThreads());
  CheckFlow(model->impl(), "fp32-panel ");
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
      EXPECT_LE(df0.max_abs, Bound("hift_f0", df0.max_ref)) << what;
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
      }
    }
  }
  CheckGeneratorAndWaveform(*engine_, "", "hift_spectrum", "waveform");
}

void EngineGolden::CheckGeneratorAndWaveform(const Model::Impl &engine, const std::string &what_prefix,
                                             const std::string &spectrum_bound,
                                             const std::string &waveform_bound) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c.value("bistream", false)) continue;
    const json cj = ReadJson(CaseDir(c) / "case.json");
    for (size_t s = 0; s < cj["segments"].size(); ++s) {
      const std::string pre = CaseDir(c).string() + "/seg" + std::to_string(s) + "_";
      const std::string what = what_prefix + c["name"].get<std::string>() + " seg" + std::to_string(s);
      if (!std::filesystem::exists(pre + "f0.npy")) continue;
      const std::string mel_file =
          std::filesystem::exists(pre + "mel_speed.npy") ? "mel_speed.npy" : "mel.npy";
      const NpyArray mel = NpyArray::Load(pre + mel_file);
      const int64_t frames = mel.dim(1);
      if (std::filesystem::exists(pre + "harmonics.npy")) {  // the generator on the reference's excitation
        const auto golden_harmonics = Load<float>(pre + "harmonics.npy");
        const auto spec = engine.hift_generator->Run(mel.data<float>(), frames, golden_harmonics);
        const Diff dr = Compare(spec.real, Load<float>(pre + "real.npy"));
        const Diff di = Compare(spec.imag, Load<float>(pre + "imag.npy"));
        Report("hift spectrum real", what, dr);
        Report("hift spectrum imag", what, di);
        const double peak = std::max(dr.max_ref, di.max_ref);
        EXPECT_LE(dr.max_abs, Bound(spectrum_bound, peak)) << what;
        EXPECT_LE(di.max_abs, Bound(spectrum_bound, peak)) << what;
      }
      const auto wav = engine.vocoder->Run(mel.data<float>(), frames, true);
      const Diff dw = Compare(wav, Load<float>(pre + "wav.npy"));
      Report("vocoder waveform", what, dw);
      EXPECT_LE(dw.max_abs, Bound(waveform_bound, cj["segments"][s]["magnitude_peak"].get<double>())) << what;
    }
  }
}

// The vocoder variant hift/fp32-winograd (docs/quantization.md §4.2): the generator's convolutions
// as WinogradConv1d, which `--precision fp32` prefers on the CPU (status parity). Its bounds count
// each rewritten convolution's Winograd depth and growth (fp32_bounds.winograd_conv_depth).
TEST_F(EngineGolden, WinogradVocoderVariantReproducesTheGoldens) {
  const auto model = LoadFp32Variant("hift", "fp32-winograd", testing::TestThreads());
  CheckGeneratorAndWaveform(model->impl(), "winograd ", "hift_spectrum_winograd", "waveform_winograd");
}

// Long offline segments go through the vocoder in windows (SegmentRenderer::VocodeOffline,
// docs/memory.md): the windows' concatenation must be one Vocoder::Run over the same mel. The
// golden segments' mels, joined, make a mel of several windows (window 60 frames here, 250 in the
// engine; what matters is that window edges, left context and lookahead all occur).
TEST_F(EngineGolden, VocoderInWindowsEqualsOnePass) {
  const int64_t m = engine_->bundle.flow.mel_bins;
  std::vector<std::vector<float>> parts;
  int64_t frames = 0;
  for (const json &c : (*manifest_)["cases"]) {
    const std::string pre = CaseDir(c).string() + "/seg0_";
    if (!std::filesystem::exists(pre + "mel.npy")) continue;
    const NpyArray mel = NpyArray::Load(pre + "mel.npy");
    const float *p = mel.data<float>();
    parts.emplace_back(p, p + mel.dim(1) * m);
    frames += mel.dim(1);
  }
  ASSERT_GE(frames, 200) << "the goldens' mels are too short to span several windows";
  std::vector<float> mel(static_cast<size_t>(m * frames));  // [m, frames]: the parts side by side
  int64_t at = 0;
  for (const std::vector<float> &part : parts) {
    const int64_t n = static_cast<int64_t>(part.size()) / m;
    for (int64_t ch = 0; ch < m; ++ch) std::copy_n(part.begin() + ch * n, n, mel.begin() + ch * frames + at);
    at += n;
  }
  const std::vector<float> whole = engine_->vocoder->Run(mel.data(), frames, true);
  IncrementalVocoder vocoder(*engine_->hift_f0, *engine_->hift_generator, *engine_->vocoder,
                             engine_->bundle.hift, static_cast<int>(m));
  std::vector<float> joined;
  int calls = 0, finals = 0;
  VocodeInWindows(vocoder, mel.data(), m, frames, 60, [&](const std::vector<float> &wav, bool final) {
    joined.insert(joined.end(), wav.begin(), wav.end());
    ++calls;
    finals += final ? 1 : 0;
  });
  EXPECT_EQ(calls, (frames + 59) / 60);
  EXPECT_EQ(finals, 1);
  ASSERT_EQ(joined.size(), whole.size());
  double peak = 0;
  for (float v : whole) peak = std::max(peak, static_cast<double>(std::abs(v)));
  const Diff d = Compare(joined, whole);
  Report("vocoder in windows vs one pass", std::to_string(frames) + " frames", d);
  EXPECT_LE(d.max_abs, Bound("waveform", peak));
}

// Every text/VC case end to end. A streamed case is the reference's chunks: upstream's recompute
// loop (which the engine's recompute and exact modes must both reproduce, docs/streaming.md) or the
// incremental "fast" schedule; both compare every chunk.
TEST_F(EngineGolden, EndToEndEveryMode) {
  CheckEndToEnd(*model_, "");
}

// What `--precision fp32` runs on a bundle with every float32 variant (bundle-q): the LLM's and the
// flow's fp32-panel and the vocoder's fp32-winograd, end to end in every mode, the streamed ones
// through the DiT chunk graph's variant.
TEST_F(EngineGolden, PanelVariantsReproduceTheGoldensEndToEnd) {
  const auto model = LoadFp32Variant("flow", "fp32-panel", testing::TestThreads());
  for (const auto &p : model->info().precisions) {
    if (p.family == "llm") {
      EXPECT_EQ(p.variant, "fp32-panel");
    }
  }
  CheckEndToEnd(model, "fp32-panel ");
}

void EngineGolden::CheckEndToEnd(const std::shared_ptr<const Model> &model, const std::string &label) {
  for (const json &c : (*manifest_)["cases"]) {
    if (c.value("bistream", false)) continue;  // text-in streaming: TextStreamEqualsTheReference
    const json cj = ReadJson(CaseDir(c) / "case.json");
    if (cj["options"].value("stream_cache", "fp32") != "fp32") continue;  // StreamCacheInFloat16*
    const bool stream = cj["options"]["stream"].get<bool>();
    const std::string mode = cj["options"].value("stream_mode", "recompute");
    std::vector<StreamMode> modes = {StreamMode::kExact};
    if (stream && mode == "recompute") modes = {StreamMode::kRecompute, StreamMode::kExact};
    if (stream && mode == "fast") modes = {StreamMode::kFast};
    for (StreamMode m : modes) {
      const std::string what =
          label + c["name"].get<std::string>() + (stream ? std::string(" ") + StreamModeName(m) : "");
      const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
      Audio source;
      const SynthesisRequest r = RequestOf(c, cj, voice, source);
      SynthesisOptions options = OptionsOf(cj);
      options.stream_mode = m;
      std::vector<size_t> chunk_sizes;
      SynthesisStats st;
      Session session(model);
      const Audio out = session.Synthesize(
          r, options,
          [&](const AudioChunk &ch) {
            chunk_sizes.push_back(ch.num_samples);
            return true;
          },
          &st);
      // flow and vocoder bounds on the case's largest spectrum magnitude; a case whose sampled tokens
      // met a near tie (TeacherForcedLogitsAndSamplerReplay) may legitimately differ beyond it
      const auto golden_wav = Load<float>(CaseDir(c) / "wav.npy");
      const double bound = Bound("waveform_from_flow", cj["magnitude_peak"].get<double>());
      bool within = out.samples.size() == golden_wav.size();
      for (size_t i = 0; within && i < golden_wav.size(); ++i)
        within = std::fabs(static_cast<double>(out.samples[i]) - static_cast<double>(golden_wav[i])) <= bound;
      if (!within) {
        const std::string tie = NearTieIn(cj, CaseDir(c).string());
        if (!tie.empty()) {
          std::printf("NEAR-TIE %s (%s): end-to-end output not comparable\n", what.c_str(), tie.c_str());
          continue;
        }
      }
      const Diff d = Compare(out.samples, golden_wav);
      Report("end to end waveform", what, d);
      EXPECT_LE(d.max_abs, bound) << what;
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
        EXPECT_LE(dc.max_abs,
                  Bound("waveform_from_flow", chunks["chunks"][i]["magnitude_peak"].get<double>()))
            << what << " chunk " << i;
        at += golden.size();
      }
    }
  }
}

// Text-in streaming (upstream's bistream, python/cosyvoice_export/bistream.py): each piece tokenized
// on its own; the interleaved decode loop on the C++ LLM gives the reference's every sampled id
// (fills included) and emitted token exactly - unless the first difference is at a near tie (the
// reference's stability margin there is within the logit bound: both choices are legitimate,
// docs/determinism.md §8); end to end through Session with a text source, the offline waveform
// within the waveform bound, and streamed (exact) the same length in several chunks.
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
    RasSampler sampler({l.sampling.top_p, l.sampling.top_k, l.sampling.win_size, l.sampling.tau_r},
                       l.stop_begin, l.stop_end, cj["seed"].get<uint64_t>());
    BistreamDecoder::Config config;
    config.mix_text = l.mix_text;
    config.mix_speech = l.mix_speech;
    config.max_token_text_ratio = l.max_token_text_ratio;
    if (!opt["max_tokens"].is_null()) config.max_tokens = opt["max_tokens"].get<int>();
    const std::vector<int32_t> speech =
        r.mode == Mode::kZeroShot ? voice.speech_tokens : std::vector<int32_t>{};
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
    EXPECT_GE(std::count(sampled.begin(), sampled.end(), l.fill), 2)
        << what << ": the case should interleave";
    const std::vector<int> want(sampled.begin(), sampled.end());
    if (decoder.sampled() != want) {
      const auto margins = Load<float>(CaseDir(c) / "sampling_margin.npy");
      const auto peaks = Load<float>(CaseDir(c) / "logit_peak.npy");
      size_t i = 0;
      while (i < want.size() && i < decoder.sampled().size() && decoder.sampled()[i] == want[i]) ++i;
      ASSERT_LT(i, margins.size()) << what << ": the C++ loop sampled more ids than the reference";
      const double bound = Bound("llm_logits", static_cast<double>(peaks[i]));
      if (static_cast<double>(margins[i]) <= bound) {
        std::printf("NEAR-TIE %s (step %zu: margin %g <= logit bound %g): not comparable\n", what.c_str(), i,
                    static_cast<double>(margins[i]), bound);
        continue;
      }
      ADD_FAILURE() << what << ": sampled ids differ at step " << i << " (margin " << margins[i]
                    << " > logit bound " << bound << ")";
      continue;
    }
    EXPECT_EQ(tokens, Load<int32_t>(CaseDir(c) / "tokens.npy")) << what << ": emitted tokens";

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
        EXPECT_LE(d.max_abs, Bound("waveform_from_flow", cj["magnitude_peak"].get<double>())) << what;
      } else {
        EXPECT_EQ(out.samples.size(), golden.size()) << what << " streamed";
        EXPECT_GE(chunks, 2u) << what << " streamed";
      }
    }
  }
  EXPECT_GE(cases, 2) << "the goldens should have text-in streaming cases";
}

// ModelConfig::stream_cache = "fp16", the mechanism bit for bit: two attention chunks through the
// chunk graph with a float16 cache and with a float32 cache. The first chunk (no past) must give the
// same velocity and store exactly FloatToHalf of the float32 keys/values; after the float32 cache's
// past is rounded the same way, the second chunk must give the same velocity again - the graph saw
// the same inputs, so the float16 cache changes the past's precision and nothing else.
// One prompt cache per voice serves both kinds (StreamingState::BuildPromptCache): a Session whose
// requests alternate exact and fast builds it once, exact starting after the voice-only chunks and
// fast after the whole prompt; new flow options build it again.
TEST_F(EngineGolden, OnePromptCacheServesExactAndFast) {
  const json *c = nullptr;
  for (const json &x : (*manifest_)["cases"])
    if (x["name"] == "zero_shot_stream_fast") c = &x;
  ASSERT_NE(c, nullptr);
  const json cj = ReadJson(CaseDir(*c) / "case.json");
  const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
  const auto k = static_cast<int64_t>(voice.speech_tokens.size());
  const int64_t chunks = PromptCacheFrames(k, engine_->bundle.flow);
  ASSERT_GT(voice.mel_frames(), chunks);
  FlowOptions options;
  options.n_timesteps = 2;
  StreamingState state(*engine_);
  const CancelToken never;
  for (const PromptCache kind : {PromptCache::kVoiceOnlyChunks, PromptCache::kWholePrompt,
                                 PromptCache::kVoiceOnlyChunks, PromptCache::kWholePrompt}) {
    ASSERT_TRUE(state.StartSegment(voice, options, kind, 0, never));
    EXPECT_EQ(state.flow.frames(), kind == PromptCache::kWholePrompt ? voice.mel_frames() : chunks);
    EXPECT_FALSE(state.flow.closed());
    EXPECT_EQ(state.prompt.frames(), voice.mel_frames());
  }
  EXPECT_EQ(state.prompt_builds, 1);
  options.n_timesteps = 3;
  ASSERT_TRUE(state.StartSegment(voice, options, PromptCache::kVoiceOnlyChunks, 0, never));
  EXPECT_EQ(state.prompt_builds, 2);
  EXPECT_EQ(PromptCacheOf(StreamMode::kFast), PromptCache::kWholePrompt);
  EXPECT_EQ(PromptCacheOf(StreamMode::kExact), PromptCache::kVoiceOnlyChunks);
}

// How an IncrementalFlow advance may end (AdvanceEnd, docs/streaming.md §8.5), and `fast`'s two
// ways of computing the frames after a whole prompt: from the prompt cache (the prompt advanced to
// its end mid-chunk, then chunk by chunk) and by SolveAfterWholePrompt (one ODE step's cache at a
// time, the fallback past max_stream_cache_bytes). The same frames under the same mask in other
// GEMM shapes: within the flow's float32 bound.
TEST_F(EngineGolden, IncrementalFlowEndsAndTheWholePromptSolve) {
  const FlowChunkGraph *graph = engine_->flow_chunk();
  ASSERT_NE(graph, nullptr);
  const FlowConfig &f = engine_->bundle.flow;
  const int64_t m = f.mel_bins, c = f.static_chunk_size, p = c + c / 2, end = 2 * c + c / 3;
  uint32_t state = 7;
  auto random = [&state](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float &x : v) {
      state = state * 1664525u + 1013904223u;
      x = static_cast<float>(state >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    return v;
  };
  const std::vector<float> prompt_mu = random(m * p), prompt_cond = random(m * p), spks = random(m);
  const std::vector<float> mu = random(m * (end - p)), cond(static_cast<size_t>(m * (end - p)), 0.f);
  auto columns = [m](const std::vector<float> &a, int64_t width, int64_t from, int64_t to) {
    std::vector<float> out(static_cast<size_t>(m * (to - from)));
    for (int64_t ch = 0; ch < m; ++ch)
      std::copy_n(a.begin() + ch * width + from, to - from, out.begin() + ch * (to - from));
    return out;
  };
  FlowOptions options;
  options.n_timesteps = 3;
  const CancelToken never;
  IncrementalFlow flow(*graph, engine_->flow_noise, f);
  flow.Start(spks, options);
  EXPECT_COSY_ERROR(flow.Advance(prompt_mu.data(), prompt_cond.data(), p, AdvanceEnd::kChunkBoundary, never),
                    ErrorCode::kInvalidArgument,
                    "flow: a non-final advance must end on an attention chunk boundary");
  flow.Advance(prompt_mu.data(), prompt_cond.data(), p, AdvanceEnd::kPromptEnd, never);
  EXPECT_FALSE(flow.closed());
  const std::vector<float> a = columns(mu, end - p, 0, 2 * c - p),
                           b = columns(mu, end - p, 2 * c - p, end - p);
  const std::vector<float> ca = columns(cond, end - p, 0, 2 * c - p),
                           cb = columns(cond, end - p, 2 * c - p, end - p);
  const std::vector<float> xa =
      flow.Advance(a.data(), ca.data(), 2 * c - p, AdvanceEnd::kChunkBoundary, never);
  const std::vector<float> xb = flow.Advance(b.data(), cb.data(), end - 2 * c, AdvanceEnd::kFinal, never);
  EXPECT_TRUE(flow.closed());
  EXPECT_COSY_ERROR(flow.Advance(b.data(), cb.data(), 1, AdvanceEnd::kFinal, never),
                    ErrorCode::kInvalidArgument, "flow: frames after a call that ended mid-chunk");
  std::vector<float> cached(static_cast<size_t>(m * (end - p)));
  for (int64_t ch = 0; ch < m; ++ch) {
    std::copy_n(xa.begin() + ch * (2 * c - p), 2 * c - p, cached.begin() + ch * (end - p));
    std::copy_n(xb.begin() + ch * (end - 2 * c), end - 2 * c, cached.begin() + ch * (end - p) + (2 * c - p));
  }
  const std::vector<float> solved =
      SolveAfterWholePrompt(*graph, engine_->flow_noise, f, options, spks, prompt_mu.data(),
                            prompt_cond.data(), p, mu.data(), cond.data(), end - p, never);
  const Diff d = Compare(solved, cached);
  Report("whole-prompt solve vs cache", "random inputs", d);
  EXPECT_LE(d.max_abs, Bound("flow_mel", std::max(1.0, d.max_ref)));
  // the prompt on its own is what both compute: the same frames after the prompt advanced to a
  // chunk boundary (its tail then attends to them) differ beyond rounding
  IncrementalFlow joint(*graph, engine_->flow_noise, f);
  joint.Start(spks, options);
  joint.Advance(prompt_mu.data(), prompt_cond.data(), c, AdvanceEnd::kChunkBoundary, never);
  std::vector<float> tail_mu = columns(prompt_mu, p, c, p), tail_cond = columns(prompt_cond, p, c, p);
  std::vector<float> both_mu(static_cast<size_t>(m * c)), both_cond(static_cast<size_t>(m * c), 0.f);
  for (int64_t ch = 0; ch < m; ++ch) {
    std::copy_n(tail_mu.begin() + ch * (p - c), p - c, both_mu.begin() + ch * c);
    std::copy_n(a.begin() + ch * (2 * c - p), 2 * c - p, both_mu.begin() + ch * c + (p - c));
    std::copy_n(tail_cond.begin() + ch * (p - c), p - c, both_cond.begin() + ch * c);
  }
  const std::vector<float> x_joint =
      joint.Advance(both_mu.data(), both_cond.data(), c, AdvanceEnd::kChunkBoundary, never);
  const Diff dj = Compare(columns(x_joint, c, p - c, c), xa);
  EXPECT_GT(dj.max_abs, Bound("flow_mel", std::max(1.0, dj.max_ref)))
      << "the prompt's tail did not see the chunk";
}

TEST_F(EngineGolden, StreamCacheInFloat16RoundsThePastAndNothingElse) {
  const FlowChunkGraph *graph = engine_->flow_chunk();
  ASSERT_NE(graph, nullptr);
  const FlowChunkShape &shape = graph->shape();
  const int64_t m = shape.mel_bins, frames = engine_->bundle.flow.static_chunk_size, b = 2;
  const size_t plane = static_cast<size_t>(b * m * frames);
  std::vector<float> x(plane), mu(plane), cond(plane), spks(static_cast<size_t>(b * m));
  uint32_t state = 99;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f * 2.0f - 1.0f;
  };
  for (auto *v : {&x, &mu, &cond, &spks})
    for (float &f : *v) f = next();
  const float t[2] = {0.3f, 0.3f};
  FlowStepCache c16(shape, 2, StreamCachePrecision::kFloat16), c32(shape, 2);
  FlowChunkGraph::RunState s16(*graph), s32(*graph);
  c16.Reset(0);
  c32.Reset(0);
  std::vector<float> v16(plane), v32(plane);
  const size_t buffers = static_cast<size_t>(2 * shape.depth), row = static_cast<size_t>(b * shape.dim);
  auto check_stored = [&](int64_t from, const std::string &what) {
    size_t wrong = 0;
    for (size_t k = 0; k < buffers; ++k)
      for (size_t i = static_cast<size_t>(from) * row; i < static_cast<size_t>(c32.frames()) * row; ++i)
        wrong += c16.kv_half(k)[i] != FloatToHalf(c32.kv(k)[i]) ? 1 : 0;
    EXPECT_EQ(wrong, 0u) << what << ": stored keys/values that are not FloatToHalf of float32's";
  };
  for (int chunk = 0; chunk < 2; ++chunk) {
    const int64_t past = c32.frames();
    graph->Run(s16, frames, x.data(), mu.data(), t, spks.data(), cond.data(), frames, c16, v16.data());
    graph->Run(s32, frames, x.data(), mu.data(), t, spks.data(), cond.data(), frames, c32, v32.data());
    EXPECT_EQ(v16, v32) << "chunk " << chunk << ": velocity";
    check_stored(past, "chunk " + std::to_string(chunk));
    // the float32 cache's past as the float16 one holds it, for the next chunk
    for (size_t k = 0; k < buffers; ++k)
      for (size_t i = 0; i < static_cast<size_t>(c32.frames()) * row; ++i)
        c32.kv(k)[i] = HalfToFloat(FloatToHalf(c32.kv(k)[i]));
    for (float &f : x) f = next();  // the next chunk's own inputs
  }
  EXPECT_EQ(c16.frames(), 2 * frames);
  EXPECT_LT(c16.bytes(), c32.bytes());
}

// ... and end to end: the case zero_shot_stream_fast_fp16 (the reference with torch .half()
// keys/values) through a Model with stream_cache = "fp16". Bound: the engine and the reference
// round bit-identically (Half.FloatToHalfRoundsToNearestEvenAndBothFormsAgree), so they differ by
// the float32 bound, plus where their float32 keys/values fall on either side of a float16 rounding
// point: each such element moves by at most one float16 unit, twice the rounding error the
// reference itself makes on every element, whose whole effect is |fp16 - fp32| of the reference
// (this case against zero_shot_stream_fast, the same request with a float32 cache). The engine's
// own float16-vs-float32 distance must be that small too.
TEST_F(EngineGolden, StreamCacheInFloat16EqualsTheReference) {
  const json *c16 = nullptr, *c32 = nullptr;
  for (const json &c : (*manifest_)["cases"]) {
    if (c["name"] == "zero_shot_stream_fast_fp16") c16 = &c;
    if (c["name"] == "zero_shot_stream_fast") c32 = &c;
  }
  ASSERT_TRUE(c16 != nullptr && c32 != nullptr) << "regenerate the goldens (`make tiny-model`)";
  const json cj = ReadJson(CaseDir(*c16) / "case.json");
  ASSERT_EQ(cj["options"]["stream_cache"], "fp16");
  const auto ref16 = Load<float>(CaseDir(*c16) / "wav.npy");
  const auto ref32 = Load<float>(CaseDir(*c32) / "wav.npy");
  ASSERT_EQ(ref16.size(), ref32.size());
  const double reference_effect = Compare(ref16, ref32).max_abs;
  ModelConfig config = engine_->config;
  config.stream_cache = "fp16";
  const std::shared_ptr<const Model> model16 = Model::Load(config);
  const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
  Audio source;
  const SynthesisRequest r = RequestOf(*c16, cj, voice, source);
  SynthesisOptions options = OptionsOf(cj);
  options.stream_mode = StreamMode::kFast;
  SynthesisStats st16, st32;
  Session session16(model16), session32(*model_);
  const Audio out16 = session16.Synthesize(r, options, nullptr, &st16);
  const Audio out32 = session32.Synthesize(r, options, nullptr, &st32);
  const double bound = Bound("waveform_from_flow", cj["magnitude_peak"].get<double>()) + 2 * reference_effect;
  const Diff d = Compare(out16.samples, ref16);
  Report("stream cache fp16 vs reference fp16", "reference fp16 effect " + std::to_string(reference_effect),
         d);
  EXPECT_LE(d.max_abs, bound);
  const Diff own = Compare(out16.samples, out32.samples);
  Report("stream cache fp16 vs fp32 (engine)", "", own);
  EXPECT_LE(own.max_abs,
            Bound("waveform_from_flow", cj["magnitude_peak"].get<double>()) + 2 * reference_effect);
  EXPECT_GT(own.max_abs, 0.0) << "the float16 cache changed nothing: is it used?";
  // half the keys/values, plus one ODE step's float32 staging (n_timesteps 10: a tenth), each grown
  // by half as frames arrive (so their capacities may differ by that much): under 0.65 of float32
  EXPECT_LE(static_cast<double>(st16.stream_cache_bytes),
            0.65 * static_cast<double>(st32.stream_cache_bytes));
}

// ModelConfig::max_stream_cache_bytes: a segment whose cache would pass the limit finishes with the
// flow recomputed per chunk (the streaming-mask pass that `exact`'s equality with `recompute` rests
// on; fast's SolveAfterWholePrompt), keeping the vocoder's window - the audio stays within the
// reference's waveform bound, chunk for chunk the same schedule. The voice's prompt cache plus half
// the uncapped segment's peak switches mid-segment (some chunks came from the cache); one byte
// switches before the first chunk.
TEST_F(EngineGolden, StreamCacheLimitFinishesTheSegmentByRecomputation) {
  ModelConfig negative = engine_->config;
  negative.max_stream_cache_bytes = -1;
  EXPECT_COSY_ERROR(Model::Load(negative), ErrorCode::kInvalidArgument,
                    "model config: max_stream_cache_bytes must be 0 (no limit) or a size, got -1");
  int cases = 0;
  for (const json &c : (*manifest_)["cases"]) {
    if (c["name"] != "zero_shot_stream" && c["name"] != "zero_shot_stream_fast") continue;
    const json cj = ReadJson(CaseDir(c) / "case.json");
    const Voice voice = GoldenVoice(cj["prompt"], Transcript(cj));
    Audio source;
    const SynthesisRequest r = RequestOf(c, cj, voice, source);
    SynthesisOptions options = OptionsOf(cj);
    options.stream_mode = c["name"] == "zero_shot_stream" ? StreamMode::kExact : StreamMode::kFast;
    auto run = [&](const std::shared_ptr<const Model> &m, SynthesisStats &st, std::vector<size_t> &chunks) {
      Session session(m);
      return session
          .Synthesize(
              r, options,
              [&](const AudioChunk &ch) {
                chunks.push_back(ch.num_samples);
                return true;
              },
              &st)
          .samples;
    };
    SynthesisStats uncapped;
    std::vector<size_t> uncapped_chunks;
    const std::vector<float> full = run(*model_, uncapped, uncapped_chunks);
    ASSERT_EQ(uncapped.stream_cache_fallbacks, 0);
    ASSERT_GT(uncapped.stream_cache_bytes, 0u);
    const auto golden = Load<float>(CaseDir(c) / "wav.npy");
    const double bound = Bound("waveform_from_flow", cj["magnitude_peak"].get<double>());
    // the limit counts the voice's prompt cache too: what that holds, from a Session's state of its own
    StreamingState probe(*engine_);
    ASSERT_TRUE(probe.StartSegment(voice, ResolveOptions(options, engine_->bundle).flow,
                                   PromptCacheOf(options.stream_mode), 0, CancelToken()));
    const auto prompt_bytes = static_cast<int64_t>(probe.prompt.cache_bytes());
    const auto half = prompt_bytes + static_cast<int64_t>(uncapped.stream_cache_bytes) / 2;
    for (const int64_t limit : {half, int64_t{1}}) {
      const std::string what = c["name"].get<std::string>() + " limit " + std::to_string(limit);
      ModelConfig config = engine_->config;
      config.max_stream_cache_bytes = limit;
      SynthesisStats st;
      std::vector<size_t> chunks;
      const std::vector<float> capped = run(Model::Load(config), st, chunks);
      EXPECT_EQ(st.stream_cache_fallbacks, 1) << what;
      EXPECT_LE(st.stream_cache_bytes, static_cast<uint64_t>(limit)) << what;
      if (limit > 1) {
        EXPECT_GT(st.stream_cache_bytes, 0u) << what << ": no chunk came from the cache";
      }
      EXPECT_GT(st.flow_frame_steps, uncapped.flow_frame_steps) << what << ": recomputation does more work";
      EXPECT_EQ(chunks, uncapped_chunks) << what;
      const Diff d = Compare(capped, golden);
      Report("stream cache limit vs reference", what, d);
      EXPECT_LE(d.max_abs, bound) << what;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 2);
}

}  // namespace
}  // namespace cosyvoice
