// src/cli/cmd_features.cc - `cosyvoice features`: one frontend feature of an audio file as .npy.
#include <cstdio>
#include <memory>
#include <string>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "audio/resampler.h"
#include "cli/command_registry.h"
#include "cli/input_files.h"
#include "cli/strict_number.h"
#include "common/log.h"
#include "common/npy.h"
#include "cosyvoice/error.h"

namespace cosyvoice::cli {

Command MakeFeaturesCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  struct Args {
    std::string kind;
    std::string wav;
    std::string out;
    std::string max_seconds = "30";
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "features", "Compute a frontend feature of an audio file, as the model takes it, into a float32 .npy");
  cmd.app
      ->add_option("--kind", args->kind,
                   "fbank: Kaldi fbank [M,80] minus its mean (CAM++); whisper: log-mel [128,T] (speech "
                   "tokenizer); mel: Matcha mel [T,80] (flow prompt)")
      ->required()
      ->check(CLI::IsMember({"fbank", "whisper", "mel"}));
  cmd.app->add_option("--wav", args->wav, "Audio file (WAV, FLAC, OGG, MP3, ...), any rate >= 16 kHz")
      ->required();
  cmd.app->add_option("--out", args->out, "Output .npy file")->required();
  cmd.app
      ->add_option("--max-seconds", args->max_seconds,
                   "Reject longer audio, like a prompt for the speech tokenizer (0: no limit)")
      ->type_name("S")
      ->default_val("30");
  cmd.run = [args] {
    AudioRequirements req;
    req.max_seconds = RealFlag("--max-seconds", args->max_seconds, {0, 86400});
    InputFiles inputs;
    inputs.Add(args->wav, "the input audio (--wav)");
    inputs.CheckNotInput(args->out, "--out");
    const Audio audio = ReadAudio(args->wav);
    CheckAudio(audio, args->wav, req);
    // As the frontend: 16 kHz for CAM++ and the tokenizer, 24 kHz for the flow, each from the file.
    const int rate = args->kind == "mel" ? MatchaMelExtractor::kSampleRate : KaldiFbankExtractor::kSampleRate;
    const std::vector<float> x = Resample(audio.samples, audio.sample_rate, rate);
    FeatureMatrix feature;
    try {
      feature = args->kind == "fbank"     ? KaldiFbank(x)
                : args->kind == "whisper" ? WhisperLogMel(x)
                                          : MatchaMel(x);
    } catch (const Error &e) {
      throw Error(e.code(), args->wav + ": " + e.what());
    }
    SaveNpy<float>(args->out, feature.shape(), feature.data.data());
    std::printf("%s: %s [%lld, %lld] float32 from %s (%d Hz, %.2f s, resampled to %d Hz)\n",
                args->out.c_str(), args->kind.c_str(), static_cast<long long>(feature.rows),
                static_cast<long long>(feature.cols), args->wav.c_str(), audio.sample_rate,
                audio.duration_seconds(), rate);
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
