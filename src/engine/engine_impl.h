// src/engine/engine_impl.h - what an Engine owns: the bundle's graphs, tables and helpers.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/npy.h"
#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"
#include "engine/embedding_table.h"
#include "engine/flow_matching.h"
#include "engine/prompt_text.h"
#include "engine/text_processor.h"
#include "engine/token_generator.h"
#include "engine/vocoder.h"
#include "models/flow_graphs.h"
#include "models/frontend_graphs.h"
#include "models/hift_graphs.h"
#include "models/llm_graph.h"

namespace cosyvoice {

// One text segment's worth of work, prepared before any model runs.
struct SegmentPlan {
  std::string text;                 // tts text as fed to the tokenizer
  std::vector<int32_t> text_ids;    // its tokens
  std::vector<int32_t> prompt_ids;  // transcript/instruction tokens (with the system prompt)
  bool use_prompt_speech = false;   // zero-shot: prompt speech tokens follow task_id
};

class Engine::Impl {
 public:
  explicit Impl(const EngineConfig &config);

  Voice CreateVoice(const Audio &prompt, const std::string &transcript, const std::string &source);
  Audio Synthesize(const SynthesisRequest &request, const SynthesisOptions &options,
                   const AudioCallback &callback, SynthesisStats *stats);

  // Everything a request's text turns into, one plan per segment (throws kInvalidArgument).
  std::vector<SegmentPlan> PlanSegments(const SynthesisRequest &request,
                                        const SynthesisOptions &options) const;
  // [sos] + E_t(prompt ++ text) + [task_id] (+ E_s(prompt speech)) as [positions, hidden].
  std::vector<float> LmInput(const SegmentPlan &plan, const Voice &voice) const;
  // The flow input with the voice's prompt filled in (tokens still to set).
  static FlowInput PromptFlowInput(const Voice &voice);
  // Offline rendering of speech tokens: flow (finalize, full attention), speed change, vocoder.
  std::vector<float> RenderOffline(const FlowInput &input, const FlowOptions &flow_options, float speed,
                                   SynthesisStats &stats);

  EngineConfig config;
  BundleConfig bundle;
  BundleSummary summary;
  PromptConventions conventions;
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
  std::string frontend_id;

  // The speech tokenizer (~1 GB) and speaker encoder load on first use: synthesis with saved
  // voices never needs them.
  SpeechTokenizerGraph &speech_tokenizer();
  CampplusGraph &campplus();

 private:
  std::vector<int32_t> SpeechTokens(const std::vector<float> &x16);
  std::unique_ptr<SpeechTokenizerGraph> speech_tokenizer_;
  std::unique_ptr<CampplusGraph> campplus_;
};

}  // namespace cosyvoice
