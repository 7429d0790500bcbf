// src/engine/bundle_config.h - the bundle's config.json, read strictly (docs/bundle.md §2, §4).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/variants.h"

namespace cosyvoice {

struct BundleFile {
  uint64_t bytes = 0;
  std::string sha256;
};

struct TokenizerConfig {
  std::string vocab, merges, added_tokens;  // paths relative to the bundle
  int32_t endofprompt_id = 0;
  std::string system_prompt;
};

struct SpeechTokenizerConfig {
  std::string file;
  int sample_rate = 0, n_mels = 0, n_fft = 0, hop_length = 0, token_rate = 0;
  double max_seconds = 0;
};

struct CampplusConfig {
  std::string file;
  int sample_rate = 0, num_mel_bins = 0, embedding_dim = 0;
};

struct PromptMelConfig {
  int sample_rate = 0, n_fft = 0, hop_length = 0, win_length = 0, n_mels = 0;
  double fmin = 0, fmax = 0;
  bool center = false;
};

struct SamplingConfig {
  double top_p = 0.8;
  int top_k = 25;
  int win_size = 10;
  double tau_r = 0.1;
};

struct LlmConfig {
  std::string file, text_embedding, speech_embedding;
  int hidden_size = 0, num_layers = 0, num_attention_heads = 0, num_kv_heads = 0, head_dim = 0;
  int max_positions = 0;
  double rope_theta = 0, rms_norm_eps = 0;
  int text_vocab_size = 0, speech_token_size = 0, speech_vocab_size = 0;
  int sos = 0, eos = 0, task_id = 0, fill = 0;
  int stop_begin = 0, stop_end = 0;  // half-open range of ids that stop decoding
  SamplingConfig sampling;
  double min_token_text_ratio = 0, max_token_text_ratio = 0;
  std::vector<int> silent_tokens;
  int max_silent_run = 0;
  // text-in streaming's interleaving: text tokens per speech-token group (config "mix_ratio";
  // bundles without it get upstream CosyVoice3's [5, 15], cosyvoice3.yaml llm.mix_ratio)
  int mix_text = 5, mix_speech = 15;
  bool IsStop(int token) const { return token >= stop_begin && token < stop_end; }
};

// flow/flow_estimator_chunk.onnx (docs/bundle.md §3.8): optional; without it the engine streams
// by recomputation only.
struct FlowChunkConfig {
  std::string file;  // empty: not in the bundle
  int dim = 0, depth = 0, conv_state = 0;
};

struct FlowConfig {
  std::string encoder, estimator, noise;
  int mel_bins = 0, token_mel_ratio = 0, pre_lookahead = 0, spk_embed_dim = 0, vocab_size = 0;
  int n_timesteps = 0;
  double cfg_rate = 0;
  std::string t_scheduler;
  int static_chunk_size = 0, max_frames = 0;
  FlowChunkConfig estimator_chunk;
};

struct SourceNoiseConfig {
  std::string generator;  // "mt19937"
  uint32_t seed = 0;
  uint64_t skip = 0;
};

struct HiftConfig {
  std::string f0, generator;
  int sample_rate = 0, hop_length = 0, istft_n_fft = 0, istft_hop = 0, nb_harmonics = 0;
  double sine_amp = 0, noise_std = 0, voiced_threshold = 0, audio_limit = 0;
  int lookahead_frames = 0;
  // Mel frames of left context a vocoder window needs (docs/streaming.md); 0 when the bundle does
  // not say (older exports): the engine then re-runs the vocoder over all mel when streaming.
  int left_context_frames = 0;
  SourceNoiseConfig source_noise;
};

struct StreamingConfig {
  int token_hop_len = 0, token_max_hop_len = 0, stream_scale_factor = 0;
};

// Everything config.json says, validated. Load() performs checks 1-3 of docs/bundle.md §4
// (format, fields and ranges, cross-field facts, file presence and sizes); graphs and tables are
// checked by their loaders (steps 4-6).
struct BundleConfig {
  std::filesystem::path dir;
  std::filesystem::path config_path;
  int format_major = 0, format_minor = 0;
  std::string model_name;
  std::string exporter_version;
  int sample_rate = 0;
  std::map<std::string, BundleFile> files;
  TokenizerConfig tokenizer;
  SpeechTokenizerConfig speech_tokenizer;
  CampplusConfig campplus;
  PromptMelConfig prompt_mel;
  LlmConfig llm;
  FlowConfig flow;
  HiftConfig hift;
  StreamingConfig streaming;
  std::string checks_json;  // the exporter's parity figures, verbatim (informational)
  VariantMap variants;      // format >= 1.1: alternative files per family (docs/bundle.md §7)

  // Throws Error(kBundle) naming BUNDLE/config.json and the field, or the missing/truncated file.
  static BundleConfig Load(const std::filesystem::path &bundle_dir);
  // Checks 1-2 only (the JSON text; no file is touched): what Load does before CheckFileSizes().
  // Errors name `bundle_dir`/config.json.
  static BundleConfig Parse(std::string_view json_text, const std::filesystem::path &bundle_dir);
  // Check 3: every listed file exists with its recorded size.
  void CheckFileSizes() const;

  // Absolute path of a bundle-relative file named in the config.
  std::filesystem::path Path(const std::string &relative) const { return dir / relative; }
  // Recomputes every file's sha256 (slow: reads the whole bundle). Throws on the first mismatch.
  void VerifyChecksums() const;
};

}  // namespace cosyvoice
