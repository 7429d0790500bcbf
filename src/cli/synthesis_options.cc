// src/cli/synthesis_options.cc
#include "cli/synthesis_options.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/command_registry.h"
#include "common/log.h"
#include "text/text_pieces.h"

namespace cosyvoice::cli {

void RequestFlags::AddTo(CLI::App *app, bool text_in) {
  app->add_option("-t,--text", text, "Text to speak");
  app->add_option("--text-file", text_file, "Read the text to speak from a UTF-8 file");
  if (text_in) {
    app->add_flag("--text-stdin", text_stdin,
                  "Read the text from standard input while it is being written (text-in streaming: "
                  "speech starts before the text ends; zero_shot or instruct2; docs/streaming.md)");
  }
  app->add_option("--mode", mode,
                  "zero_shot | cross_lingual | instruct2 | vc (default: inferred from the flags)");
  app->add_option("--instruct", instruct,
                  "Instruction for instruct2, e.g. \"请用四川话说这句话。\" or \"Speak slowly.\"");
  app->add_option("--source-wav", source_wav, "Voice conversion: the speech to re-voice (<= 30 s)");
  app->add_option("--prompt-wav", prompt_wav,
                  "Prompt recording of the voice to clone (>= 16 kHz, 3-30 s of speech)");
  app->add_option("--prompt-text", prompt_text, "Transcript of the prompt recording (zero-shot)");
  app->add_option("--voice", voice_file,
                  "A voice file from `cosyvoice voice create` (instead of --prompt-wav)");
}

void RequestFlags::Resolve() {
  if (text_stdin && (!text.empty() || !text_file.empty())) {
    throw Error(ErrorCode::kInvalidArgument, "give --text, --text-file or --text-stdin, only one");
  }
  if (!text_file.empty()) {
    if (!text.empty()) throw Error(ErrorCode::kInvalidArgument, "give --text or --text-file, not both");
    std::ifstream in(text_file);
    if (!in) throw Error(ErrorCode::kIo, text_file + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  if (voice_file.empty() == prompt_wav.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "give the voice either as --prompt-wav (with --prompt-text) or --voice");
  }
}

Voice RequestFlags::LoadVoice(const Model &model, bool quiet) const {
  if (!voice_file.empty()) {
    Voice v = Voice::Load(voice_file);
    if (!prompt_text.empty()) v.transcript = prompt_text;  // an explicit transcript wins
    return v;
  }
  if (!quiet) COSY_LOG(kInfo) << "preparing the voice from " << prompt_wav;
  return model.CreateVoiceFromFile(prompt_wav, prompt_text);
}

Mode RequestFlags::ResolveMode(const Voice &voice) const {
  if (!mode.empty()) return ParseMode(mode);
  if (!source_wav.empty()) return Mode::kVoiceConversion;
  if (!instruct.empty()) return Mode::kInstruct2;
  if (voice.transcript.find_first_not_of(" \t\r\n") != std::string::npos) return Mode::kZeroShot;
  return Mode::kCrossLingual;
}

SynthesisRequest RequestFlags::BuildRequest(const Voice &voice, Audio &source) const {
  SynthesisRequest req;
  req.mode = ResolveMode(voice);
  req.text = text;
  req.voice = &voice;
  req.instruct = instruct;
  if (text_stdin) {
    if (req.mode != Mode::kZeroShot && req.mode != Mode::kInstruct2) {
      throw Error(ErrorCode::kInvalidArgument, std::string("--text-stdin: mode ") + ModeName(req.mode) +
                                                   " cannot stream text in; use zero_shot (a voice with its "
                                                   "transcript) or instruct2 (--instruct)");
    }
    req.text_source = StdinTextSource();
    return req;
  }
  if (req.mode == Mode::kVoiceConversion) {
    if (source_wav.empty()) throw Error(ErrorCode::kInvalidArgument, "vc mode needs --source-wav");
    source = ReadAudioFile(source_wav);
    req.source_audio = &source;
  } else if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, "text is empty: give --text or --text-file");
  }
  return req;
}

TextSource StdinTextSource() {
  struct Reader {
    text::TextPieceBuffer buffer;
    bool eof = false;
  };
  auto r = std::make_shared<Reader>();
  return [r](std::string &piece) {
    while (true) {
      piece = r->buffer.TakeReady();
      if (!piece.empty()) return true;
      if (r->eof) {
        piece = r->buffer.TakeRest();
        return !piece.empty();
      }
      char block[4096];
      // read() returns whatever has arrived (a line from a terminal, a block from a pipe)
      const ssize_t n = ::read(STDIN_FILENO, block, sizeof block);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(ErrorCode::kIo, std::string("standard input: ") + std::strerror(errno));
      if (n == 0) r->eof = true;
      r->buffer.Append(std::string_view(block, static_cast<size_t>(n)));
    }
  };
}

std::shared_ptr<const Model> OpenModel(const std::string &model, const RuntimeOptions &runtime) {
  ModelConfig config;
  config.model_dir = model;
  config.runtime = runtime.ToConfig();
  return Model::Load(config);
}

namespace {

// A flag that sets an optional option only when given (unset: the bundle's default).
template <typename T>
void AddOptional(CLI::App *app, const std::string &name, std::optional<T> &field, const std::string &help) {
  app->add_option_function<T>(
      name, [&field](const T &v) { field = v; }, help);
}

}  // namespace

void AddSynthesisFlags(CLI::App *app, SynthesisOptions &o) {
  app->add_option("--seed", o.seed, "Sampling seed (segment i uses seed + i)")->default_val(0);
  app->add_option("--speed", o.speed, "Speaking rate 0.5-2.0 (not with --stream)")->default_val(1.0);
  AddOptional(app, "--steps", o.n_timesteps, "Flow ODE steps (default: the bundle's, 10)");
  AddOptional(app, "--cfg", o.cfg_rate,
              "Classifier-free guidance rate, 0 = none (default: the bundle's, 0.7)");
  AddOptional(app, "--top-p", o.top_p, "Nucleus sampling mass (default: the bundle's, 0.8)");
  AddOptional(app, "--top-k", o.top_k, "Top-k (default: the bundle's, 25)");
  AddOptional(app, "--max-tokens", o.max_tokens,
              "Cap on speech tokens per sentence (25 per second of audio)");
  AddOptional(app, "--min-tokens", o.min_tokens, "Floor on speech tokens per sentence");
  app->add_flag("--stream", o.stream, "Synthesize in chunks and emit audio as soon as it is ready");
  app->add_option_function<std::string>(
         "--stream-mode", [&o](const std::string &v) { o.stream_mode = ParseStreamMode(v); },
         "With --stream: exact (default: upstream's audio from cached attention), fast (less work, "
         "final chunk with chunk attention) or recompute (upstream's loop); docs/streaming.md")
      ->check(CLI::IsMember({"recompute", "exact", "fast"}));
  app->add_flag_function(
      "--no-text-frontend", [&o](std::int64_t) { o.text_frontend = false; },
      "Do not normalize or split the text");
  app->add_flag_function(
      "--no-normalization", [&o](std::int64_t) { o.text_normalization = false; },
      "Keep numbers, dates and symbols as written (still split into sentences)");
}

}  // namespace cosyvoice::cli
