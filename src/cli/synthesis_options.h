// src/cli/synthesis_options.h - command-line flags shared by `tts` and `bench`.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::cli {

// What to say and in which voice.
struct RequestFlags {
  std::string text, text_file, mode, instruct, source_wav;
  std::string prompt_wav, prompt_text, voice_file;
  bool text_stdin = false;  // text-in streaming from standard input
  // `text_in`: also offer --text-stdin (tts only: a benchmark repeats its request)
  void AddTo(CLI::App *app, bool text_in = false);
  // Reads the text file if given; checks that the flags make a complete request.
  void Resolve();
  // Loads or creates the voice (prints progress unless quiet).
  Voice LoadVoice(const Model &model, bool quiet) const;
  // The mode named by --mode, or inferred: --source-wav -> vc, --instruct -> instruct2,
  // a transcript -> zero_shot, else cross_lingual.
  Mode ResolveMode(const Voice &voice) const;
  // The request for `voice`; voice conversion reads --source-wav into `source` (kept alive by the
  // caller). Refuses an empty text for the text modes.
  SynthesisRequest BuildRequest(const Voice &voice, Audio &source) const;
};

// Text pieces from standard input as they arrive, cut at word boundaries (text/text_pieces.h).
TextSource StdinTextSource();

struct RuntimeOptions;
std::shared_ptr<const Model> OpenModel(const std::string &model, const RuntimeOptions &runtime);

void AddSynthesisFlags(CLI::App *app, SynthesisOptions &options);

}  // namespace cosyvoice::cli
