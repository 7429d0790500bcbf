// src/cli/request.cc - see request.h.
#include "cli/request.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string_view>

#include "audio/audio_io.h"
#include "cli/synthesis_flags.h"
#include "cli/text_input.h"
#include "engine/bundle_config.h"
#include "text/input_text.h"
#include "text/text_pieces.h"

namespace cosyvoice::cli {
namespace {

[[noreturn]] void Invalid(const std::string &message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

bool Blank(const std::string &s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::string Fixed(double x, int digits) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(digits);
  os << x;
  return os.str();
}

// Decodes and checks a recording given with `flag`; the file name leads every message.
Audio ReadRecording(const std::string &path, const std::string &flag, double max_seconds) {
  (void)flag;
  Audio audio = ReadAudio(path);
  AudioRequirements req;
  req.max_seconds = max_seconds;
  CheckAudio(audio, path, req);
  return audio;
}

void CheckVcFlags(const ModeInputs &in) {
  const std::string why = " does not apply to vc mode: voice conversion re-voices --source-wav";
  if (!in.text_source.empty()) Invalid(in.text_source + why + " and speaks no text");
  if (in.instruct) Invalid("--instruct" + why + " and takes no instruction");
  if (in.prompt_text)
    Invalid("--prompt-text" + why + " and uses only the sound of the voice, not its transcript");
  if (!in.text_mode_flags.empty())
    Invalid(in.text_mode_flags.front() + why + " with its own speech tokens; nothing is sampled from text");
  if (!in.source_wav) Invalid("vc mode needs --source-wav (the speech to re-voice)");
}

}  // namespace

// ---- flags ---------------------------------------------------------------------------------------------

void RequestFlags::AddTo(CLI::App *app, bool positional) {
  app_ = app;
  if (positional)
    app->add_option("TEXT", text_arg, "Text to speak (or --text, --text-file, or piped on stdin)");
  app->add_option("-t,--text", text, "Text to speak");
  app->add_option("--text-file", text_file, "Read the text to speak from a UTF-8 file ('-': stdin)")
      ->type_name("FILE");
  app->add_option("--mode", mode,
                  "zero_shot | cross_lingual | instruct2 | vc (default: inferred from the flags)");
  app->add_option("--instruct", instruct,
                  "Instruction for instruct2, e.g. \"请用四川话说这句话。\" or \"Speak slowly.\"");
  app->add_option("--source-wav", source_wav, "Voice conversion: the speech to re-voice (<= 30 s)")
      ->type_name("FILE");
  app->add_option("--prompt-wav", prompt_wav, "Recording of the voice to clone (>= 16 kHz, 3-30 s of speech)")
      ->type_name("FILE");
  app->add_option("--prompt-text", prompt_text, "Transcript of the prompt recording (zero-shot)");
  app->add_option("--voice", voice_file,
                  "A voice file from `cosyvoice voice create` (instead of --prompt-wav)")
      ->type_name("FILE");
}

void RequestFlags::AddTextStdin(CLI::App *app) {
  app->add_flag("--text-stdin", text_stdin,
                "Read the text from stdin while it is being written (text-in streaming: speech starts before "
                "the text ends; zero_shot or instruct2; docs/streaming.md)");
}

bool RequestFlags::Given(const char *name) const {
  if (app_ == nullptr) return false;
  const CLI::Option *opt = app_->get_option_no_throw(name);
  return opt != nullptr && opt->count() > 0;
}

std::vector<std::string> RequestFlags::TextSourcesGiven() const {
  std::vector<std::string> out;
  if (!text_arg.empty() || Given("TEXT")) out.push_back("the TEXT argument");
  if (!text.empty() || Given("--text")) out.push_back("--text");
  if (!text_file.empty() || Given("--text-file")) out.push_back("--text-file");
  if (text_stdin) out.push_back("--text-stdin");
  return out;
}

// ---- mode ----------------------------------------------------------------------------------------------

Mode DecideMode(const ModeInputs &in) {
  Mode mode;
  const bool explicit_mode = !in.mode.empty();
  if (explicit_mode) {
    try {
      mode = ParseMode(in.mode);
    } catch (const Error &e) {
      Invalid(std::string("--mode: ") + e.what());
    }
  } else if (in.source_wav) {
    mode = Mode::kVoiceConversion;
  } else if (in.instruct) {
    mode = Mode::kInstruct2;
  } else if (in.has_transcript) {
    mode = Mode::kZeroShot;
  } else {
    mode = Mode::kCrossLingual;
  }
  const std::string name = ModeName(mode);
  const std::string set_by = explicit_mode ? " (set by --mode)" : "";
  if (mode == Mode::kVoiceConversion) {
    CheckVcFlags(in);
    return mode;
  }
  if (in.source_wav)
    Invalid("--source-wav applies to vc mode only, and the mode is " + name + set_by +
            "; drop --source-wav or use --mode vc");
  switch (mode) {
    case Mode::kZeroShot:
      if (in.instruct)
        Invalid("--instruct does not apply to zero_shot mode" + set_by +
                "; use --mode instruct2 or leave --mode out");
      if (!in.has_transcript)
        Invalid(
            "zero_shot mode needs the transcript of the prompt recording: give --prompt-text (or a voice "
            "file made with one), or use --mode cross_lingual or instruct2");
      break;
    case Mode::kCrossLingual:
      if (in.instruct)
        Invalid("--instruct does not apply to cross_lingual mode" + set_by +
                "; use --mode instruct2 or leave --mode out");
      if (in.prompt_text)
        Invalid("--prompt-text does not apply to cross_lingual mode" + set_by +
                ": it does not use the transcript; leave --mode out for zero_shot");
      break;
    case Mode::kInstruct2:
      if (!in.instruct) Invalid("instruct2 mode needs --instruct (the instruction, e.g. \"Speak slowly.\")");
      if (in.prompt_text)
        Invalid(
            "--prompt-text does not apply to instruct2 mode: the instruction takes the transcript's place");
      break;
    case Mode::kVoiceConversion: break;
  }
  return mode;
}

// ---- recordings ----------------------------------------------------------------------------------------

Audio ReadPromptRecording(const std::string &path, const std::string &flag, double max_seconds,
                          const WarningSink &warn) {
  Audio audio = ReadRecording(path, flag, max_seconds);
  const double seconds = audio.duration_seconds();
  if (seconds < kMinPromptSeconds) {
    throw Error(ErrorCode::kInvalidAudio,
                path + ": the recording is " + Fixed(seconds, 2) + " s long; a voice needs at least " +
                    Fixed(kMinPromptSeconds, 0) +
                    " s of speech (3-30 s is best), or it is cloned from a syllable");
  }
  if (seconds < kAdvisedPromptSeconds && warn) {
    warn(path + ": the recording is " + Fixed(seconds, 2) +
         " s long; 3-30 s of speech clones a voice more "
         "faithfully");
  }
  return audio;
}

// ---- the whole request -----------------------------------------------------------------------------------

namespace {

// Reads the text from the one source given, or stdin / the default as `policy` says.
void ReadText(const RequestFlags &flags, const TextPolicy &policy, PreparedRequest &out) {
  const std::vector<std::string> sources = flags.TextSourcesGiven();
  if (sources.size() > 1)
    Invalid("the text is given twice (" + sources[0] + " and " + sources[1] + "); give it once");
  if (sources.empty()) {
    if (!policy.default_text.empty()) {
      out.text = policy.default_text;
      out.text_origin = "the default text";
    } else if (policy.read_piped_stdin && !StdinIsTerminal()) {
      out.text = ReadTextInput("-");
      out.text_origin = "stdin";
    } else {
      Invalid("no text to speak: give it as an argument, with --text or --text-file FILE, or pipe it in");
    }
  } else if (sources[0] == "--text-stdin") {
    out.text_stdin = true;  // read during synthesis; the engine refuses a text that stays empty
    out.text_origin = "--text-stdin";
    return;
  } else if (sources[0] == "--text-file") {
    out.text = ReadTextInput(flags.text_file);
    out.text_origin = flags.text_file == "-" ? "stdin" : "--text-file " + flags.text_file;
    out.inputs.Add(flags.text_file, "the text file (--text-file)");
  } else {
    out.text = sources[0] == "--text" ? flags.text : flags.text_arg;
    out.text_origin = sources[0];
    if (out.text.size() > kMaxTextBytes)
      Invalid(sources[0] + ": the text is longer than " + std::to_string(kMaxTextBytes) +
              " bytes, the limit of one request; split it into several runs");
  }
  // The engine's input rule (invalid UTF-8 refused, control characters removed), applied here too so
  // that bad text is refused before the model loads, naming where it came from.
  if (Blank(text::CleanInputText(out.text, out.text_origin).text))
    Invalid("text is empty (" + out.text_origin + "): there is nothing to speak");
}

// An instruction or a transcript: the engine's length limit and input rule, before any work.
void CheckPromptText(const std::string &value, const std::string &what, size_t max_bytes) {
  text::CheckTextLength(value, what, max_bytes);
  text::CleanInputText(value, what);
}

}  // namespace

PreparedRequest PrepareRequest(const RequestFlags &flags, const SynthesisFlags &synthesis,
                               const BundleConfig &bundle, const TextPolicy &policy,
                               const WarningSink &warn) {
  PreparedRequest out;
  const bool has_voice_file = !flags.voice_file.empty() || flags.Given("--voice");
  const bool has_prompt = !flags.prompt_wav.empty() || flags.Given("--prompt-wav");
  if (has_voice_file == has_prompt)
    Invalid(has_prompt ? "give the voice once: --prompt-wav or --voice, not both"
                       : "give the voice either as --prompt-wav (with --prompt-text) or --voice");
  const double max_seconds = bundle.speech_tokenizer.max_seconds;

  // The voice first: a voice file's transcript takes part in choosing the mode.
  if (has_voice_file) {
    out.voice = Voice::Load(flags.voice_file);
    out.inputs.Add(flags.voice_file, "the voice file (--voice)");
  }
  const bool prompt_text_given = !flags.prompt_text.empty() || flags.Given("--prompt-text");
  ModeInputs mode_in;
  mode_in.mode = flags.mode;
  const auto sources = flags.TextSourcesGiven();
  mode_in.text_source = sources.empty() ? "" : sources.front();
  mode_in.instruct = !flags.instruct.empty() || flags.Given("--instruct");
  mode_in.prompt_text = prompt_text_given;
  mode_in.source_wav = !flags.source_wav.empty() || flags.Given("--source-wav");
  mode_in.has_transcript = !Blank(flags.prompt_text) || (out.voice && !Blank(out.voice->transcript));
  mode_in.text_mode_flags = synthesis.TextModeFlagsGiven();
  out.mode = DecideMode(mode_in);
  CheckPromptText(flags.instruct, "instruction", text::kMaxInstructionBytes);
  CheckPromptText(flags.prompt_text, "voice transcript", text::kMaxTranscriptBytes);
  out.instruct = flags.instruct;
  out.transcript = flags.prompt_text;
  if (out.voice && prompt_text_given) out.voice->transcript = flags.prompt_text;  // an explicit one wins

  if (flags.text_stdin && out.mode != Mode::kZeroShot && out.mode != Mode::kInstruct2)
    Invalid(std::string("--text-stdin: text-in streaming needs zero_shot mode (a voice with its transcript, "
                        "--prompt-text) or instruct2 (--instruct), and the mode is ") +
            ModeName(out.mode) + " (upstream's interleaving starts after <|endofprompt|>)");
  if (out.mode != Mode::kVoiceConversion) ReadText(flags, policy, out);
  if (has_prompt) {
    out.prompt = ReadPromptRecording(flags.prompt_wav, "--prompt-wav", max_seconds, warn);
    out.prompt_name = std::filesystem::path(flags.prompt_wav).filename().string();
    out.inputs.Add(flags.prompt_wav, "the prompt recording (--prompt-wav)");
  }
  if (out.mode == Mode::kVoiceConversion) {
    out.source = ReadRecording(flags.source_wav, "--source-wav", max_seconds);
    if (out.source.duration_seconds() < kMinSourceSeconds)
      throw Error(ErrorCode::kInvalidAudio,
                  flags.source_wav + ": the speech to convert is " + Fixed(out.source.duration_seconds(), 3) +
                      " s long; at least " + Fixed(kMinSourceSeconds, 1) + " s is needed");
    out.inputs.Add(flags.source_wav, "the speech to convert (--source-wav)");
  }
  return out;
}

SynthesisRequest MakeSynthesisRequest(const PreparedRequest &prepared, const Voice &voice) {
  SynthesisRequest req;
  req.mode = prepared.mode;
  req.voice = &voice;
  req.instruct = prepared.instruct;
  if (prepared.text_stdin)
    req.text_source = StdinTextSource();
  else
    req.text = prepared.text;
  if (prepared.mode == Mode::kVoiceConversion) req.source_audio = &prepared.source;
  return req;
}

TextSource StdinTextSource() {
  struct Reader {
    text::TextPieceBuffer buffer;
    size_t total = 0;
    bool eof = false;
  };
  auto r = std::make_shared<Reader>();
  return [r](std::string &piece) {
    for (;;) {
      piece = r->buffer.TakeReady();
      if (!piece.empty()) return true;
      if (r->eof) {
        piece = r->buffer.TakeRest();
        return !piece.empty();
      }
      char block[4096];
      // read() returns whatever has arrived: a line from a terminal, a block from a pipe
      const ssize_t n = ::read(STDIN_FILENO, block, sizeof block);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(ErrorCode::kIo, std::string("stdin (--text-stdin): ") + std::strerror(errno));
      if (n == 0) r->eof = true;
      r->total += static_cast<size_t>(n);
      if (r->total > kMaxTextBytes)
        Invalid("stdin (--text-stdin): the text is longer than " + std::to_string(kMaxTextBytes) +
                " bytes, the limit of one request; split it into several runs");
      r->buffer.Append(std::string_view(block, static_cast<size_t>(n)));
    }
  };
}

}  // namespace cosyvoice::cli
