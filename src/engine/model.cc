// src/engine/model.cc - Model: loading a bundle, preparing voices, planning a request's text.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <thread>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "common/load_heap_policy.h"
#include "common/log.h"
#include "common/timer.h"
#include "engine/bundle_verifier.h"
#include "engine/finite_check.h"
#include "engine/model_impl.h"
#include "engine/token_channel.h"
#include "engine/voice_file.h"
#include "models/ort_env.h"
#include "models/session_factory.h"
#include "text/input_text.h"

namespace cosyvoice {
namespace {

// A voice's transcript, checked before any audio work: the input rule (invalid UTF-8 refused, control
// characters removed) and the length limit (a 10 MB transcript used to be refused after 14 s, 497 MB).
std::string PrepareTranscript(const std::string &transcript) {
  text::CheckTextLength(transcript, "voice transcript", text::kMaxTranscriptBytes);
  return text::PrepareInputText(transcript, "voice transcript");
}

// The vocoder's providers: "webgpu" removed unless RuntimeConfig::vocoder_on_webgpu (see there).
RuntimeConfig VocoderRuntime(const RuntimeConfig &rt) {
  RuntimeConfig out = rt;
  if (rt.vocoder_on_webgpu) return out;
  out.providers.erase(std::remove(out.providers.begin(), out.providers.end(), "webgpu"), out.providers.end());
  if (out.providers.empty()) out.providers = {"cpu"};
  if (out.providers.size() != rt.providers.size()) {
    COSY_LOG(kInfo) << "the HiFT vocoder runs on " << out.providers.front()
                    << ", not webgpu (wrong results with ONNX Runtime 1.30's WebGPU kernels: docs/gpu.md)";
  }
  return out;
}

// The C++ feature extractors implement upstream's fixed parameters; a bundle asking for others
// would be silently mis-served, so it is refused.
void CheckFrontendMatchesBuild(const BundleConfig &b) {
  auto fail = [&](const std::string &what) {
    throw Error(ErrorCode::kUnsupported, b.config_path.string() + ": " + what +
                                             " differs from what this build implements (docs/bundle.md §2)");
  };
  const auto &st = b.speech_tokenizer;
  if (st.sample_rate != 16000 || st.n_mels != 128 || st.n_fft != 400 || st.hop_length != 160)
    fail("frontend.speech_tokenizer (16 kHz, 128 mels, n_fft 400, hop 160)");
  if (b.campplus.sample_rate != 16000 || b.campplus.num_mel_bins != 80)
    fail("frontend.campplus (16 kHz, 80 bins)");
  const auto &m = b.prompt_mel;
  if (m.sample_rate != 24000 || m.n_fft != 1920 || m.hop_length != 480 || m.win_length != 1920 ||
      m.n_mels != 80 || m.fmin != 0.0 || m.fmax != 12000.0 || m.center)
    fail("frontend.prompt_mel (24 kHz, n_fft 1920, hop 480, 80 mels, 0-12 kHz, center false)");
}

// Threads hashing the bundle while the graphs load: the two large graphs in parallel (with optimized
// graphs, sessions take well under a second and the checksums are what the load waits for).
constexpr int kVerifierThreads = 2;

// The optimized graphs to use (docs/bundle.md §8), as RuntimeConfig::graph_overrides.
OptimizedGraphs FindOptimizedGraphs(const ModelConfig &config, const BundleConfig &bundle) {
  if (config.optimized_dir == "off") return {};
  std::filesystem::path dir = config.optimized_dir;
  if (dir.empty()) {
    dir = bundle.dir / "optimized";
    if (!std::filesystem::exists(dir / OptimizedGraphsManifest::kFileName)) return {};
  } else if (!std::filesystem::is_directory(dir)) {
    throw Error(ErrorCode::kInvalidArgument, "optimized graphs: " + dir.string() + " is not a directory");
  }
  std::map<std::string, std::pair<uint64_t, std::string>> files;
  for (const auto &[rel, f] : bundle.files) files[rel] = {f.bytes, f.sha256};
  return OptimizedGraphs::Open(dir, OptimizationTarget::Current(config.runtime), files);
}

}  // namespace

void ModelConfig::Validate() const {
  if (model_dir.empty()) throw Error(ErrorCode::kInvalidArgument, "model config: model_dir is empty");
  runtime.Validate();
  PrecisionRequest::Parse(precision);
  if (stream_cache != "fp32" && stream_cache != "fp16") {
    throw Error(
        ErrorCode::kInvalidArgument,
        "model config: stream_cache must be fp32 or fp16 (docs/streaming.md §5), got '" + stream_cache + "'");
  }
  if (max_stream_cache_bytes < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "model config: max_stream_cache_bytes must be 0 (no limit) or a size, got " +
                    std::to_string(max_stream_cache_bytes));
  }
}

Model::Impl::Impl(const ModelConfig &cfg) : config(cfg), bundle(BundleConfig::Load(cfg.model_dir)) {
  config.Validate();
  stream_cache =
      config.stream_cache == "fp16" ? StreamCachePrecision::kFloat16 : StreamCachePrecision::kFloat32;
  const BundleConfig exported = bundle;  // before the chosen variants replace files
  for (const VariantChoice &c :
       ChooseVariants(bundle.variants, config.precision, PreferredProvider(config.runtime))) {
    if (!c.warning.empty()) COSY_LOG(kWarning) << c.warning;
    if (c.variant == nullptr) {
      info.precisions.push_back({c.family, "base", "fp32", "base"});
      continue;
    }
    ApplyVariant(bundle, *c.variant);
    info.precisions.push_back({c.family, c.variant->name, c.variant->precision, c.variant->gate_status});
  }
  CheckFrontendMatchesBuild(bundle);
  // Graphs optimized for this machine replace bundle graphs (docs/bundle.md §8); their files are
  // verified instead of the bundle graph, which is then not read.
  optimized = FindOptimizedGraphs(config, bundle);
  info.optimized_dir = optimized.empty() ? "" : optimized.dir().string();
  std::map<std::string, std::vector<FileToVerify>> replaced;
  for (const auto &[rel, f] : bundle.files) {
    if (auto path = optimized.Find(rel)) {
      config.runtime.graph_overrides[bundle.Path(rel).string()] = path->string();
      for (const auto &[file, entry] : optimized.FilesFor(rel))
        replaced[rel].push_back({file, entry.sha256,
                                 (optimized.dir() / OptimizedGraphsManifest::kFileName).string(),
                                 entry.crc32c});
    }
  }
  // Checksums are computed on other threads while the graphs load (docs/bundle.md §4.1); the model
  // is handed out only once they match. When loading fails first, a damaged file explains it better
  // than ONNX Runtime's parse error, so the checksums are waited for then too.
  // The graphs loaded on first use are verified then (VerifyBeforeFirstUse).
  FilesByPart files = FilesInUseByPart(exported, bundle, replaced, DeferredGraphs(bundle));
  deferred_checks_ = std::move(files.deferred);
  std::unique_ptr<BundleVerifier> verifier;
  if (config.verify_checksums)
    verifier = std::make_unique<BundleVerifier>(std::move(files.at_load), kVerifierThreads);
  try {
    const LoadHeapPolicy heap;  // ONNX Runtime's per-weight buffers reuse pages (common/load_heap_policy.h)
    LoadParts();
  } catch (const Error &) {
    if (verifier) verifier->Wait();
    throw;
  }
  if (verifier) verifier->Wait();
  VerifyFallbacks(EagerGraphs());
}

// The checksums of a graph loaded on first use (and of its optimized form), before its session.
void Model::Impl::VerifyBeforeFirstUse(const std::string &rel) const {
  if (!config.verify_checksums) return;
  auto it = deferred_checks_.find(rel);
  if (it == deferred_checks_.end()) return;
  BundleVerifier verifier(it->second, kVerifierThreads);  // files verified earlier are not hashed again
  verifier.Wait();
}

// A graph whose optimized form ONNX Runtime refused was loaded from the bundle after all (one warning
// line): its checksum was not among those computed, so it is verified now.
void Model::Impl::VerifyFallbacks(const std::vector<const OnnxGraph *> &graphs) const {
  if (!config.verify_checksums) return;
  std::vector<FileToVerify> files;
  for (const OnnxGraph *g : graphs) {
    if (g->optimized() || !config.runtime.graph_overrides.count(g->path().string())) continue;
    const std::string rel = std::filesystem::relative(g->path(), bundle.dir).generic_string();
    auto it = bundle.files.find(rel);
    if (it != bundle.files.end()) files.push_back({g->path(), it->second.sha256, "config.json", ""});
  }
  if (files.empty()) return;
  BundleVerifier fallback(std::move(files), kVerifierThreads);
  fallback.Wait();
}

void Model::Impl::LoadParts() {
  const auto t0 = SteadyClock::now();
  const RuntimeConfig &rt = config.runtime;
  const LlmConfig &l = bundle.llm;

  // The tokenizer's tables (0.4-0.8 s at full size: 151k merges) are built on another thread while
  // this one maps the embeddings and creates the LLM's session, and waited for before the flow's
  // sessions. (The LLM's session on a thread of its
  // own beside the flow's was not faster on 2 cores - 3.7-5.1 s against 4.0-4.8 s, with up to 40 %
  // more CPU - and a plain graph's session holds a copy of its weights while it is created: two at
  // once raised the full-size float32 load's peak RSS from 3.5 to 4.5 GB.)
  std::future<std::unique_ptr<TextProcessor>> text_loading =
      std::async(std::launch::async, [this] { return std::make_unique<TextProcessor>(bundle); });
  text_embedding =
      std::make_unique<EmbeddingTable>(bundle.Path(l.text_embedding), l.text_vocab_size, l.hidden_size);
  speech_embedding =
      std::make_unique<EmbeddingTable>(bundle.Path(l.speech_embedding), l.speech_vocab_size, l.hidden_size);
  llm = std::make_unique<LlmGraph>(
      bundle.Path(l.file),
      LlmGraphShape{l.hidden_size, l.num_layers, l.num_kv_heads, l.head_dim, l.speech_vocab_size}, rt);
  text = text_loading.get();
  conventions.system_prompt = bundle.tokenizer.system_prompt;
  conventions.marker = text->TokenContent(bundle.tokenizer.endofprompt_id);
  const FlowConfig &f = bundle.flow;
  flow_encoder = std::make_unique<FlowEncoderGraph>(bundle.Path(f.encoder), f.mel_bins, f.spk_embed_dim, rt);
  flow_estimator = std::make_unique<FlowEstimatorGraph>(bundle.Path(f.estimator), f.mel_bins, rt);
  try {
    flow_noise = NpyArray::Load(bundle.Path(f.noise), /*memory_map=*/true);
  } catch (const Error &e) {
    throw Error(ErrorCode::kBundle, e.what());
  }
  // 4.8 MB, scanned once: a noise file of the right size full of NaN gave an all-zero WAV.
  CheckAllFinite(flow_noise, bundle.Path(f.noise).string(), ErrorCode::kBundle);
  flow = std::make_unique<FlowMatching>(*flow_encoder, *flow_estimator, flow_noise, f);
  const HiftConfig &h = bundle.hift;
  const RuntimeConfig vocoder_rt = VocoderRuntime(rt);
  hift_f0 = std::make_unique<HiftF0Graph>(bundle.Path(h.f0), f.mel_bins, vocoder_rt);
  hift_generator = std::make_unique<HiftGeneratorGraph>(
      bundle.Path(h.generator), f.mel_bins, h.nb_harmonics + 1, h.istft_n_fft / 2 + 1, vocoder_rt);
  vocoder = std::make_unique<Vocoder>(*hift_f0, *hift_generator, h);

  // Voices carry the identity of the frontend graphs that made them.
  auto sha = [&](const std::string &rel) {
    auto it = bundle.files.find(rel);
    return it == bundle.files.end() ? std::string("?") : it->second.sha256.substr(0, 16);
  };
  frontend_id = "st:" + sha(bundle.speech_tokenizer.file) + ",cp:" + sha(bundle.campplus.file);

  info.model_name = bundle.model_name;
  info.sample_rate = bundle.sample_rate;
  info.mel_bins = f.mel_bins;
  info.format_version = std::to_string(bundle.format_major) + "." + std::to_string(bundle.format_minor);
  info.bundle_dir = config.model_dir;
  info.providers = llm->providers();
  info.intra_op_threads = OrtEnvironmentIntraOpThreads();
  first_audio_priority = FirstAudioPriorityPays(info.intra_op_threads, std::thread::hardware_concurrency());
  for (const OnnxGraph *g : EagerGraphs()) info.optimized_graphs += g->optimized() ? 1 : 0;
  COSY_LOG(kDebug) << "bundle " << bundle.dir.string() << " loaded in " << SecondsSince(t0) << " s";
}

const SpeechTokenizerGraph &Model::Impl::speech_tokenizer() const {
  std::lock_guard<std::mutex> lock(frontend_mutex_);
  if (!speech_tokenizer_) {
    COSY_LOG(kDebug) << "loading the speech tokenizer";
    VerifyBeforeFirstUse(bundle.speech_tokenizer.file);
    auto graph = std::make_unique<SpeechTokenizerGraph>(bundle.Path(bundle.speech_tokenizer.file),
                                                        bundle.speech_tokenizer.n_mels, config.runtime);
    VerifyFallbacks({graph.get()});
    speech_tokenizer_ = std::move(graph);
  }
  return *speech_tokenizer_;
}

const CampplusGraph &Model::Impl::campplus() const {
  std::lock_guard<std::mutex> lock(frontend_mutex_);
  if (!campplus_) {
    VerifyBeforeFirstUse(bundle.campplus.file);
    auto graph =
        std::make_unique<CampplusGraph>(bundle.Path(bundle.campplus.file), bundle.campplus.num_mel_bins,
                                        bundle.campplus.embedding_dim, config.runtime);
    VerifyFallbacks({graph.get()});
    campplus_ = std::move(graph);
  }
  return *campplus_;
}

const FlowChunkGraph *Model::Impl::flow_chunk() const {
  const FlowChunkConfig &c = bundle.flow.estimator_chunk;
  if (c.file.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(flow_chunk_mutex_);
  if (!flow_chunk_) {
    COSY_LOG(kDebug) << "loading the chunked flow estimator";
    VerifyBeforeFirstUse(c.file);
    auto graph = std::make_unique<FlowChunkGraph>(
        bundle.Path(c.file), FlowChunkShape{bundle.flow.mel_bins, c.dim, c.depth, c.conv_state},
        config.runtime);
    VerifyFallbacks({graph.get()});
    flow_chunk_ = std::move(graph);
  }
  return flow_chunk_.get();
}

std::vector<int32_t> Model::Impl::SpeechTokens(const std::vector<float> &x16) const {
  const FeatureMatrix mel = WhisperLogMel(x16);  // [128, T]
  return speech_tokenizer().Run(mel.data, mel.cols);
}

Voice Model::Impl::CreateVoice(const Audio &prompt, const std::string &transcript,
                               const std::string &source) const {
  const std::string name = source.empty() ? "prompt audio" : source;
  const std::string clean_transcript = PrepareTranscript(transcript);
  AudioRequirements req;
  req.max_seconds = bundle.speech_tokenizer.max_seconds;
  const PromptAudio audio = PreparePromptAudio(prompt, name, req);

  Voice v;
  v.transcript = clean_transcript;
  v.source = source;
  v.frontend_id = frontend_id;
  v.mel_bins = bundle.flow.mel_bins;
  v.prompt_seconds = prompt.duration_seconds();
  std::vector<int32_t> tokens = SpeechTokens(audio.x16);
  const FeatureMatrix fbank = KaldiFbank(audio.x16);  // [M, 80], mean-subtracted
  v.speaker_embedding = campplus().Run(fbank.data, fbank.rows);
  CheckFiniteOutput(v.speaker_embedding.data(), v.speaker_embedding.size(), "speaker encoder (embedding)");
  const FeatureMatrix mel = MatchaMel(audio.x24);  // [T24, 80]

  // 2:1 alignment of prompt tokens (25 Hz) and prompt mel (50 Hz), spec §2.1 step 4
  const int64_t ratio = bundle.flow.token_mel_ratio;
  const int64_t k = std::min<int64_t>(mel.rows / ratio, static_cast<int64_t>(tokens.size()));
  if (k < 1) {
    throw Error(ErrorCode::kInvalidAudio, name + ": too short to make a voice (" +
                                              std::to_string(prompt.duration_seconds()) +
                                              " s); use a few seconds of clear speech");
  }
  tokens.resize(static_cast<size_t>(k));
  v.speech_tokens = std::move(tokens);
  v.prompt_mel.assign(mel.data.begin(), mel.data.begin() + k * ratio * mel.cols);
  CheckVoiceValues(v, name);
  return v;
}

namespace {
// Zero-shot conditions the LLM on the prompt's transcript; without one it has nothing to align.
void RequireTranscript(const Voice &voice) {
  if (voice.transcript.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument,
                "zero-shot needs the voice's transcript (what the prompt recording says); "
                "use cross_lingual or instruct2 for a voice without one");
  }
}
}  // namespace

std::vector<SegmentPlan> Model::Impl::PlanSegments(const SynthesisRequest &r,
                                                   const SynthesisOptions &o) const {
  std::vector<SegmentPlan> plans;
  std::string prompt;
  switch (r.mode) {
    case Mode::kZeroShot:
      RequireTranscript(*r.voice);
      prompt = conventions.ZeroShotPrompt(text::PrepareInputText(r.voice->transcript, "voice transcript"));
      break;
    case Mode::kInstruct2:
      prompt = conventions.InstructPrompt(text::PrepareInputText(r.instruct, "instruction"));
      break;
    case Mode::kCrossLingual:
    case Mode::kVoiceConversion: break;
  }
  const std::vector<int32_t> prompt_ids = prompt.empty() ? std::vector<int32_t>{} : text->Encode(prompt);
  for (std::string segment : text->Split(r.text, o.text_frontend, o.text_normalization)) {
    if (r.mode == Mode::kCrossLingual) segment = conventions.CrossLingualText(segment);
    conventions.CheckOneMarker(prompt, segment);
    SegmentPlan p;
    p.text = segment;
    p.text_ids = text->Encode(segment);
    p.prompt_ids = prompt_ids;
    p.use_prompt_speech = r.mode == Mode::kZeroShot;
    if (p.text_ids.empty()) continue;
    plans.push_back(std::move(p));
  }
  if (plans.empty())
    throw Error(ErrorCode::kInvalidArgument, "the text has nothing to speak after normalization");
  return plans;
}

std::vector<int32_t> Model::Impl::TextStreamPrompt(const SynthesisRequest &r) const {
  std::string prompt;
  if (r.mode == Mode::kZeroShot) {
    RequireTranscript(*r.voice);
    prompt = conventions.ZeroShotPrompt(r.voice->transcript);
  } else {
    prompt = conventions.InstructPrompt(r.instruct);
  }
  // the interleaved layout starts after the marker, so it must be there exactly once
  conventions.CheckOneMarker(prompt, "");
  return text->Encode(prompt);
}

std::vector<float> Model::Impl::LmInput(const SegmentPlan &plan, const Voice &voice) const {
  const LlmConfig &l = bundle.llm;
  std::vector<float> x;
  const size_t positions = 2 + plan.prompt_ids.size() + plan.text_ids.size() +
                           (plan.use_prompt_speech ? voice.speech_tokens.size() : 0);
  x.reserve(positions * static_cast<size_t>(l.hidden_size));
  speech_embedding->Gather({l.sos}, x);
  text_embedding->Gather(plan.prompt_ids, x);
  text_embedding->Gather(plan.text_ids, x);
  speech_embedding->Gather({l.task_id}, x);
  if (plan.use_prompt_speech) speech_embedding->Gather(voice.speech_tokens, x);
  return x;
}

void Model::Impl::CheckVoice(const Voice &voice) const {
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
  // A voice built in memory gets the checks a voice file gets (finite values, transcript limit), and
  // its tokens must be speech codes of this model (an out-of-range id would index past the tables).
  CheckVoiceValues(voice, "voice '" + voice.source + "'");
  for (size_t i = 0; i < voice.speech_tokens.size(); ++i) {
    if (voice.speech_tokens[i] >= bundle.llm.speech_token_size)
      throw Error(ErrorCode::kInvalidArgument,
                  "voice '" + voice.source + "': speech_tokens[" + std::to_string(i) + "] = " +
                      std::to_string(voice.speech_tokens[i]) + " is not a speech code of this model (< " +
                      std::to_string(bundle.llm.speech_token_size) + ")");
  }
}

FlowInput Model::Impl::PromptFlowInput(const Voice &voice) {
  FlowInput in;
  in.prompt_tokens = voice.speech_tokens;
  in.prompt_mel = voice.prompt_mel.data();
  in.prompt_frames = voice.mel_frames();
  in.embedding = voice.speaker_embedding.data();
  return in;
}

// ---- Model (pimpl forwarding) -------------------------------------------------------------------

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::Load(const ModelConfig &config) {
  config.Validate();
  return std::shared_ptr<const Model>(new Model(std::make_unique<Impl>(config)));
}

Voice Model::CreateVoice(const Audio &prompt, const std::string &transcript,
                         const std::string &source) const {
  return impl_->CreateVoice(prompt, transcript, source);
}

Voice Model::CreateVoiceFromFile(const std::string &path, const std::string &transcript) const {
  // before reading the audio (CreateVoice repeats this, with the warning if anything is removed)
  text::CheckTextLength(transcript, "voice transcript", text::kMaxTranscriptBytes);
  text::CleanInputText(transcript, "voice transcript");
  Voice v = impl_->CreateVoice(ReadAudio(path), transcript, path);  // errors name the whole path
  // The file name only: a voice file should not carry the directories of the machine that made it.
  v.source = std::filesystem::path(path).filename().string();
  return v;
}

std::vector<std::string> Model::SplitText(const std::string &text, bool text_frontend) const {
  return impl_->text->Split(text, text_frontend);
}

std::vector<int32_t> Model::Tokenize(const std::string &text) const {
  return impl_->text->Encode(text::PrepareInputText(text, "text"));
}

const ModelInfo &Model::info() const {
  return impl_->info;
}
int Model::sample_rate() const {
  return impl_->bundle.sample_rate;
}

const char *StreamModeName(StreamMode mode) {
  switch (mode) {
    case StreamMode::kRecompute: return "recompute";
    case StreamMode::kExact: return "exact";
    case StreamMode::kFast: return "fast";
  }
  return "?";
}

StreamMode ParseStreamMode(const std::string &name) {
  if (name == "recompute") return StreamMode::kRecompute;
  if (name == "exact") return StreamMode::kExact;
  if (name == "fast") return StreamMode::kFast;
  throw Error(ErrorCode::kInvalidArgument,
              "unknown stream mode \"" + name + "\" (expected recompute, exact or fast)");
}

const char *ModeName(Mode mode) {
  switch (mode) {
    case Mode::kZeroShot: return "zero_shot";
    case Mode::kCrossLingual: return "cross_lingual";
    case Mode::kInstruct2: return "instruct2";
    case Mode::kVoiceConversion: return "vc";
  }
  return "?";
}

Mode ParseMode(const std::string &name) {
  if (name == "zero_shot" || name == "zero-shot") return Mode::kZeroShot;
  if (name == "cross_lingual" || name == "cross-lingual") return Mode::kCrossLingual;
  if (name == "instruct2" || name == "instruct") return Mode::kInstruct2;
  if (name == "vc" || name == "voice_conversion") return Mode::kVoiceConversion;
  throw Error(ErrorCode::kInvalidArgument,
              "mode '" + name + "': expected zero_shot, cross_lingual, instruct2 or vc");
}

}  // namespace cosyvoice
