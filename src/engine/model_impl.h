// src/engine/model_impl.h - what a Model owns: the bundle's graphs, tables and text helpers, all
// immutable after construction and safe to use from many threads at once.
#pragma once

#include <atomic>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/npy.h"
#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"
#include "engine/bundle_verifier.h"
#include "engine/embedding_table.h"
#include "engine/flow_matching.h"
#include "engine/prompt_text.h"
#include "engine/text_processor.h"
#include "engine/vocoder.h"
#include "models/flow_chunk_graph.h"
#include "models/flow_graphs.h"
#include "models/frontend_graphs.h"
#include "models/hift_graphs.h"
#include "models/llm_graph.h"
#include "models/optimized_graphs.h"

namespace cosyvoice {

// One text segment's worth of work, prepared before any model runs.
struct SegmentPlan {
  std::string text;                 // tts text as fed to the tokenizer
  std::vector<int32_t> text_ids;    // its tokens
  std::vector<int32_t> prompt_ids;  // transcript/instruction tokens (with the system prompt)
  bool use_prompt_speech = false;   // zero-shot: prompt speech tokens follow task_id
};

// Everything here is reached through `const Model::Impl &`: the members are set by the
// constructor and never change afterwards, and every object they hold is itself safe for
// concurrent const use (graph wrappers: Ort::Session::Run is thread-safe; TextProcessor: its BPE
// cache is locked; Vocoder: its source-noise table is locked). Per-request state lives in
// Session::State (session_state.h).
class Model::Impl {
 public:
  explicit Impl(const ModelConfig &config);

  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &source) const;
  // Speech tokens of 16 kHz speech (the speech tokenizer on its Whisper log-mel).
  std::vector<int32_t> SpeechTokens(const std::vector<float> &x16) const;

  // Everything a request's text turns into, one plan per segment (throws kInvalidArgument).
  std::vector<SegmentPlan> PlanSegments(const SynthesisRequest &request,
                                        const SynthesisOptions &options) const;
  // Text-in streaming (zero_shot, instruct2): the tokenized prompt, <|endofprompt|> included.
  std::vector<int32_t> TextStreamPrompt(const SynthesisRequest &request) const;
  // [sos] + E_t(prompt ++ text) + [task_id] (+ E_s(prompt speech)) as [positions, hidden].
  std::vector<float> LmInput(const SegmentPlan &plan, const Voice &voice) const;
  // Throws Error(kInvalidArgument) unless `voice` was made for this model's frontend and shapes.
  void CheckVoice(const Voice &voice) const;
  // The flow input with the voice's prompt filled in (tokens still to set).
  static FlowInput PromptFlowInput(const Voice &voice);

  // The speech tokenizer (~1 GB) and speaker encoder load on first use, once, whichever thread
  // asks first: synthesis with saved voices never needs them. A failed load is retried next time.
  const SpeechTokenizerGraph &speech_tokenizer() const;
  const CampplusGraph &campplus() const;
  // flow/flow_estimator_chunk.onnx (the DiT again, for streaming without recomputation), loaded on
  // the first streamed request; null when the bundle has none (docs/streaming.md).
  const FlowChunkGraph *flow_chunk() const;
  bool has_incremental_streaming() const {
    return !bundle.flow.estimator_chunk.file.empty() && bundle.hift.left_context_frames > 0;
  }
  // The flow variant ModelConfig::precision chose when it has no chunked estimator of its own (a
  // bundle quantized before flow variants carried one), else null. Streaming `exact` would then run
  // its chunks on the fp32 chunked estimator and its final pass on the variant, so it runs as
  // `recompute` (docs/streaming.md §3); the first such request logs it.
  const ModelInfo::Precision *flow_variant_without_chunk_graph() const {
    for (const ModelInfo::Precision &p : info.precisions) {
      if (p.family != "flow" || p.variant == "base") continue;
      const auto family = bundle.variants.find("flow");
      if (family == bundle.variants.end()) return nullptr;
      for (const VariantConfig &v : family->second) {
        if (v.name == p.variant && v.files.count("estimator_chunk.file") == 0) return &p;
      }
    }
    return nullptr;
  }
  mutable std::atomic<bool> logged_exact_as_recompute{false};

  // The constructor's work after the config: tables, graphs, facts for ModelInfo.
  void LoadParts();
  // Checksums (docs/bundle.md §4.1) of the graphs given that came from the bundle although an
  // optimized form was listed (ONNX Runtime refused it); of a deferred graph before its first load.
  void VerifyFallbacks(const std::vector<const OnnxGraph *> &graphs) const;
  // The graphs every load creates (the others are loaded on first use).
  std::vector<const OnnxGraph *> EagerGraphs() const {
    return {llm.get(), flow_encoder.get(), flow_estimator.get(), hift_f0.get(), hift_generator.get()};
  }
  void VerifyBeforeFirstUse(const std::string &rel) const;

  ModelConfig config;
  BundleConfig bundle;
  StreamCachePrecision stream_cache = StreamCachePrecision::kFloat32;  // ModelConfig::stream_cache
  OptimizedGraphs optimized;  // graphs loaded from `cosyvoice optimize`'s directory (docs/bundle.md §8)
  ModelInfo info;
  // Whether a streamed request holds the LLM back for its first audio (FirstAudioPriorityPays,
  // engine/token_channel.h): a fact of the thread pool and the machine, fixed at load.
  bool first_audio_priority = true;
  PromptConventions conventions;
  std::string frontend_id;  // identity of the frontend graphs, stored in voices
  std::unique_ptr<TextProcessor> text;
  std::unique_ptr<LlmGraph> llm;
  std::unique_ptr<EmbeddingTable> text_embedding, speech_embedding;
  std::unique_ptr<FlowEncoderGraph> flow_encoder;
  std::unique_ptr<FlowEstimatorGraph> flow_estimator;
  NpyArray flow_noise;
  std::unique_ptr<FlowMatching> flow;
  std::unique_ptr<HiftF0Graph> hift_f0;
  std::unique_ptr<HiftGeneratorGraph> hift_generator;
  std::unique_ptr<Vocoder> vocoder;

 private:
  // A mutex rather than std::call_once: libstdc++'s call_once is unreliable when the callable
  // throws (GCC bug 66146), and a missing or damaged graph file throws here.
  mutable std::mutex frontend_mutex_;
  mutable std::unique_ptr<SpeechTokenizerGraph> speech_tokenizer_;
  mutable std::unique_ptr<CampplusGraph> campplus_;
  mutable std::mutex flow_chunk_mutex_;
  mutable std::unique_ptr<FlowChunkGraph> flow_chunk_;
  // Files of the graphs above, hashed before each one's first load (FilesInUseByPart).
  std::map<std::string, std::vector<FileToVerify>> deferred_checks_;
};

}  // namespace cosyvoice
