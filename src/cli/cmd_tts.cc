// src/cli/cmd_tts.cc - `cosyvoice tts`: text (and a voice) in, speech out - to a file or a pipe.
//
// Three phases, in this order so that a mistake costs nothing:
//  1. check: every flag, every input file (voice, recordings, text) and the output location (its
//     temporary file is created now) - before the model loads;
//  2. load the model and prepare the voice;
//  3. synthesize, writing each piece of audio as it comes (memory does not grow with the text), and
//     put the file in place only when it is complete.
#include <cstdio>
#include <memory>

#include "cli/audio_output.h"
#include "cli/command_registry.h"
#include "cli/model_steps.h"
#include "cli/progress.h"
#include "cli/request.h"
#include "cli/signals.h"
#include "cli/synthesis_flags.h"
#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"

namespace cosyvoice::cli {
namespace {

struct TtsArgs {
  std::string model;
  OutputSpec output;
  RequestFlags request;
  SynthesisFlags synthesis;
  RuntimeOptions runtime;
  StreamCacheOptions stream_cache;
};

std::string Fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

std::string SeedText(const SynthesisSettings &s) {
  return "seed " + std::to_string(s.seed) + (s.seed_random ? " (random)" : "");
}

int RunTts(TtsArgs &a, const GlobalOptions &g) {
  ProgressReporter progress(PickProgressStyle(g.quiet, g.json));
  progress.CaptureLog();
  const WarningSink warn = [&progress](const std::string &m) { progress.Warning(m); };

  // 1. Check everything before the model loads.
  const SynthesisSettings settings = ParseSynthesisFlags(a.synthesis);
  if (!a.stream_cache.IsDefault() && !settings.stream)
    throw Error(ErrorCode::kInvalidArgument,
                "--stream-cache and --max-stream-cache-mb apply with --stream only");
  ModelConfig model_config = a.runtime.ToModelConfig(a.model);
  a.stream_cache.ApplyTo(model_config);
  model_config.Validate();
  const BundleConfig bundle = BundleConfig::Load(a.model);
  CheckStreamModeFits(settings, bundle, a.model);
  PreparedRequest prepared = PrepareRequest(a.request, a.synthesis, bundle, TextPolicy{}, warn);
  prepared.inputs.AddTree(a.model, "a file of the model bundle (-m)");
  std::unique_ptr<AudioOutput> output = AudioOutput::Open(a.output, bundle.sample_rate, prepared.inputs);

  // 2. The model and the voice.
  std::unique_ptr<Synthesizer> synthesizer = LoadModel(progress, model_config);
  const Voice voice = prepared.voice ? *prepared.voice
                                     : PrepareVoice(progress, *synthesizer, prepared.prompt,
                                                    prepared.transcript, prepared.prompt_name);

  // 3. Synthesis, written as it is produced.
  const SynthesisRequest request = MakeSynthesisRequest(prepared, voice);
  const char *mode = ModeName(request.mode);
  progress.Note(
      "start",
      std::string("mode ") + mode + ", " + SeedText(settings) + ", writing " + output->name() + " (" +
          AudioFormatName(output->format()) +
          (settings.stream ? std::string(", streaming ") + StreamModeName(settings.stream_mode) : "") +
          (prepared.text_stdin ? ", text from stdin as it arrives" : "") + ")",
      {{"mode", mode},
       {"seed", settings.seed},
       {"seed_random", settings.seed_random},
       {"output", output->name()},
       {"format", AudioFormatName(output->format())},
       {"stream", settings.stream},
       {"stream_mode", settings.stream ? StreamModeName(settings.stream_mode) : ""},
       {"text_stdin", prepared.text_stdin}});
  SynthesisStats stats;
  {
    CancelScope cancel([&synthesizer] { synthesizer->Cancel(); });
    progress.StartSynthesis();
    synthesizer->Stream(
        request, ToEngineOptions(settings),
        [&](const AudioChunk &c) {
          output->Write(c.samples, c.num_samples);
          progress.Audio(c.segment, c.num_segments, c.num_samples, c.sample_rate, c.segment_done);
          return true;
        },
        &stats);
  }
  output->Finish();

  const double seconds = progress.SynthesisSeconds();
  const double audio = static_cast<double>(output->samples_written()) / bundle.sample_rate;
  const double rtf = audio > 0 ? seconds / audio : 0.0;
  std::string text = "wrote " + output->name() + ": " + Fixed(audio, 2) + " s of audio in " +
                     Fixed(seconds, 2) + " s (RTF " + Fixed(rtf, 3) + "), " + std::to_string(stats.segments) +
                     (stats.segments == 1 ? " segment, " : " segments, ") + SeedText(settings);
  if (settings.stream)
    text += ", first audio after " + Fixed(stats.first_audio_seconds, 2) + " s (" +
            StreamModeName(settings.stream_mode) + " streaming: its tokens at " +
            Fixed(stats.first_chunk_tokens_seconds, 2) + " s, flow " +
            Fixed(stats.first_chunk_flow_seconds, 2) + " s, vocoder " +
            Fixed(stats.first_chunk_vocoder_seconds, 2) + " s)";
  progress.Summary(text, {{"output", output->name()},
                          {"format", AudioFormatName(output->format())},
                          {"mode", mode},
                          {"audio_seconds", audio},
                          {"seconds", seconds},
                          {"rtf", rtf},
                          {"segments", stats.segments},
                          {"speech_tokens", stats.speech_tokens},
                          {"first_audio_seconds", stats.first_audio_seconds},
                          {"first_chunk_tokens_seconds", stats.first_chunk_tokens_seconds},
                          {"first_chunk_flow_seconds", stats.first_chunk_flow_seconds},
                          {"first_chunk_vocoder_seconds", stats.first_chunk_vocoder_seconds},
                          {"seed", settings.seed},
                          {"seed_random", settings.seed_random}});
  return 0;
}

}  // namespace

Command MakeTtsCommand(CLI::App &parent, const GlobalOptions &global) {
  auto args = std::make_shared<TtsArgs>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "tts", "Synthesize speech: zero-shot cloning, cross-lingual, instruct2 or voice conversion");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory (docs/bundle.md)")->required();
  cmd.app
      ->add_option("-o,--output", args->output.path,
                   "Output file, or - for stdout (written as it is produced); the extension picks the format")
      ->type_name("FILE|-")
      ->default_val("out.wav");
  cmd.app->add_option("--format", args->output.format, "wav | pcm (raw s16le) | flac | mp3 | opus | ogg")
      ->type_name("FMT");
  cmd.app->add_flag("--float", args->output.float_wav, "WAV with 32-bit float samples instead of 16-bit");
  args->request.AddTo(cmd.app);
  args->request.AddTextStdin(cmd.app);
  args->synthesis.AddTo(cmd.app);
  args->runtime.AddTo(cmd.app);
  args->stream_cache.AddTo(cmd.app);
  cmd.app->footer(
      "Examples:\n"
      "  cosyvoice tts -m bundle --prompt-wav me.wav --prompt-text \"what me.wav says\" \"Hello!\" -o "
      "hi.wav\n"
      "  echo \"Hello!\" | cosyvoice tts -m bundle --voice me.voice -o - | aplay\n"
      "  cosyvoice tts -m bundle --voice me.voice --text-file book.txt -o book.mp3\n"
      "  cosyvoice tts -m bundle --voice me.voice --instruct \"请用四川话说这句话。\" \"今天天气不错。\"\n"
      "  cosyvoice tts -m bundle --voice me.voice --source-wav other.wav -o converted.wav\n"
      "  my-llm-agent | cosyvoice tts -m bundle --voice me.voice --text-stdin --stream -o - | aplay\n"
      "See docs/cli.md for the rules (modes, formats, limits, exit codes).");
  const GlobalOptions *g = &global;
  cmd.run = [args, g] { return RunTts(*args, *g); };
  return cmd;
}

}  // namespace cosyvoice::cli
