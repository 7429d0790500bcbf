// src/engine/silent_token_filter.h - which generated speech tokens reach the flow.
#pragma once

#include <vector>

namespace cosyvoice {

// Upstream's llm_job filter (docs/determinism.md, "Silent-token filter"): a silent token after
// more than `max_run` consecutive silent ones is dropped - the LLM saw it (its history keeps every
// token), the flow does not. Incremental, so streaming can decide token by token.
//   https://github.com/FunAudioLLM/CosyVoice/blob/main/cosyvoice/cli/model.py (llm_job)
class SilentTokenFilter {
 public:
  // `silent_tokens`: the bundle's llm.silent_tokens; `max_run`: llm.max_silent_run (>= 0).
  SilentTokenFilter(std::vector<int> silent_tokens, int max_run);

  // Takes the next generated token; true when it goes to the flow.
  bool Push(int token);
  // Forgets the current run (a new segment starts).
  void Reset() { run_ = 0; }

 private:
  std::vector<int> silent_;
  int max_run_;
  int run_ = 0;
};

}  // namespace cosyvoice
