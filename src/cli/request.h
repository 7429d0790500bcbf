// src/cli/request.h - what to say and in which voice (`tts`, `bench`), checked before the model loads.
//
// PrepareRequest turns the flags into a request whose every input is already read and checked: the
// voice file loaded, the prompt and source recordings decoded and within their limits, the text read
// (argument, --text, --text-file, or stdin when it is piped), the mode decided and every flag that
// would be ignored in that mode refused by name. Only then does the command load the model.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/input_files.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice {
struct BundleConfig;
}

namespace cosyvoice::cli {

struct SynthesisFlags;

struct RequestFlags {
  std::string text_arg, text, text_file, mode, instruct, source_wav, prompt_wav, prompt_text, voice_file;
  bool text_stdin = false;  // text-in streaming: the text is read from stdin while speech is generated
  // `positional`: the text may also be given as the TEXT argument.
  void AddTo(CLI::App *app, bool positional = true);
  // Also offers --text-stdin (tts only: a benchmark repeats its request, a stream cannot be re-read).
  void AddTextStdin(CLI::App *app);
  // Whether `name` was on the command line (even with an empty value).
  bool Given(const char *name) const;
  // The flags that gave text explicitly, in the words of the messages ("the TEXT argument", "--text",
  // "--text-file", "--text-stdin").
  std::vector<std::string> TextSourcesGiven() const;

 private:
  CLI::App *app_ = nullptr;
};

// What decides the mode, and the flags that must fit it.
struct ModeInputs {
  std::string mode;                          // --mode as typed; empty: inferred
  std::string text_source;                   // the flag that gave text explicitly; empty: none
  bool instruct = false;                     // --instruct given
  bool prompt_text = false;                  // --prompt-text given
  bool source_wav = false;                   // --source-wav given
  bool has_transcript = false;               // --prompt-text or a voice file with a transcript
  std::vector<std::string> text_mode_flags;  // given flags that only matter with text (SynthesisFlags)
};
// --mode, or inferred: --source-wav -> vc; --instruct -> instruct2; a transcript -> zero_shot;
// otherwise cross_lingual. Throws Error(kInvalidArgument) naming a flag that does not apply to the
// mode, or what the mode is missing.
Mode DecideMode(const ModeInputs &in);

// Prompt recordings: a voice is cloned from 3-30 s of speech (upstream's "3s" zero-shot; 30 s is the
// speech tokenizer's window, a bundle value). Below kMinPromptSeconds a recording is refused: the
// speaker embedding and the prompt's speech tokens would describe a syllable, not a voice. Between
// that and kAdvisedPromptSeconds it is used with a warning.
constexpr double kMinPromptSeconds = 1.0;
constexpr double kAdvisedPromptSeconds = 3.0;
// A speech to re-voice (vc) must hold at least one speech token's worth of features.
constexpr double kMinSourceSeconds = 0.1;

using WarningSink = std::function<void(const std::string &)>;

// Reads `path` (given with `flag`) and checks it as a prompt recording: readable audio, >= 16 kHz,
// not silent, no NaN, between kMinPromptSeconds and `max_seconds`. Error(kIo) / Error(kInvalidAudio)
// naming the file; `warn` for a prompt shorter than kAdvisedPromptSeconds.
Audio ReadPromptRecording(const std::string &path, const std::string &flag, double max_seconds,
                          const WarningSink &warn);

struct TextPolicy {
  bool read_piped_stdin = true;  // no text given and stdin is not a terminal: read stdin
  std::string default_text;      // no text given: use this (bench); empty: the text is required
};

struct PreparedRequest {
  Mode mode = Mode::kZeroShot;
  std::string text;         // to speak (not vc; empty with text_stdin)
  bool text_stdin = false;  // --text-stdin: the text is read from stdin as it arrives, during synthesis
  std::string text_origin;  // "the TEXT argument", "--text", "--text-file notes.txt", "stdin", ...
  std::string instruct;
  std::optional<Voice> voice;  // --voice, loaded (transcript replaced by --prompt-text if given)
  Audio prompt;                // --prompt-wav, decoded and checked
  std::string prompt_name;     // its file name without directories (what a voice file records)
  std::string transcript;      // --prompt-text
  Audio source;                // vc: --source-wav, decoded and checked
  InputFiles inputs;           // every file read, for the output checks
};

PreparedRequest PrepareRequest(const RequestFlags &flags, const SynthesisFlags &synthesis,
                               const BundleConfig &bundle, const TextPolicy &policy, const WarningSink &warn);

// The engine request for `prepared` and its voice (both must outlive the request). With text_stdin
// its text_source reads stdin (StdinTextSource).
SynthesisRequest MakeSynthesisRequest(const PreparedRequest &prepared, const Voice &voice);

// Text pieces from stdin as they arrive (a pipe from an LLM agent, a terminal), cut at word
// boundaries (text::TextPieceBuffer) so that no word is tokenized in two halves. At most
// kMaxTextBytes in all: more is Error(kInvalidArgument) naming stdin.
TextSource StdinTextSource();

}  // namespace cosyvoice::cli
