// src/cli/cmd_tts.cc - `cosyvoice tts`: text (and a voice) in, a 24 kHz WAV out.
#include <cstdio>
#include <memory>

#include "cli/command_registry.h"
#include "cli/synthesis_options.h"
#include "common/log.h"
#include "cosyvoice/cosyvoice.h"

namespace cosyvoice::cli {

Command MakeTtsCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    std::string model, output = "out.wav";
    bool float_wav = false;
    RequestFlags request;
    SynthesisOptions options;
    RuntimeOptions runtime;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "tts", "Synthesize speech: zero-shot cloning, cross-lingual, instruct2 or voice conversion");
  cmd.app->add_option("-m,--model", args->model, "Bundle directory (docs/bundle.md)")->required();
  cmd.app->add_option("-o,--output", args->output, "Output WAV (24 kHz mono)")->default_val("out.wav");
  cmd.app->add_flag("--float", args->float_wav, "Write 32-bit float samples instead of 16-bit PCM");
  args->request.AddTo(cmd.app, true);
  AddSynthesisFlags(cmd.app, args->options);
  args->runtime.AddTo(cmd.app);
  cmd.app->footer(
      "Examples:\n"
      "  cosyvoice tts -m bundle --prompt-wav me.wav --prompt-text \"what me.wav says\" -t \"Hello!\" -o "
      "hi.wav\n"
      "  cosyvoice tts -m bundle --voice me.voice --instruct \"请用四川话说这句话。\" -t \"今天天气不错。\"\n"
      "  cosyvoice tts -m bundle --voice me.voice --mode vc --source-wav other.wav -o converted.wav\n"
      "  my-llm-agent | cosyvoice tts -m bundle --voice me.voice --text-stdin --stream -o reply.wav");
  const GlobalOptions *g = &global;
  cmd.run = [args, g] {
    Args &a = *args;
    a.request.Resolve();
    if (!g->quiet) COSY_LOG(kInfo) << "loading " << a.model;
    const auto model = OpenModel(a.model, a.runtime);
    const Voice voice = a.request.LoadVoice(*model, g->quiet);
    Audio source;
    const SynthesisRequest req = a.request.BuildRequest(voice, source);
    if (!g->quiet) COSY_LOG(kInfo) << "mode " << ModeName(req.mode) << ", seed " << a.options.seed;
    auto progress = [&](const AudioChunk &c) {
      if (!g->quiet && c.segment_done) {
        COSY_LOG(kInfo) << "segment " << c.segment + 1 << "/" << c.num_segments << " done";
      }
      return true;
    };
    SynthesisStats stats;
    Session session(model);
    const Audio out = session.Synthesize(req, a.options, progress, &stats);
    WriteWavFile(a.output, out, a.float_wav);
    if (!g->quiet) {
      COSY_LOG(kInfo) << "wrote " << a.output << ": " << out.duration_seconds() << " s of audio in "
                      << stats.total_seconds << " s (RTF " << stats.rtf() << ", " << stats.speech_tokens
                      << " speech tokens)";
      if (a.options.stream) COSY_LOG(kInfo) << "first audio after " << stats.first_audio_seconds << " s";
    }
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
