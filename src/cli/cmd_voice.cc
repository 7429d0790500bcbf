// src/cli/cmd_voice.cc - `cosyvoice voice create|info` and `cosyvoice voices`: prepare a voice once,
// reuse it, see what is there.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/audio_output.h"
#include "cli/command_registry.h"
#include "cli/input_files.h"
#include "cli/model_steps.h"
#include "cli/progress.h"
#include "cli/request.h"
#include "common/atomic_file.h"
#include "cosyvoice/cosyvoice.h"
#include "engine/bundle_config.h"
#include "engine/voice_file.h"
#include "text/input_text.h"

namespace cosyvoice::cli {
namespace {

struct VoiceArgs {
  std::string model, prompt_wav, prompt_text, output, info_file;
  RuntimeOptions runtime;
};

// `voice create`: the prompt and the output are checked, and the output's temporary file opened,
// before the model loads.
int RunCreate(const VoiceArgs &a, const GlobalOptions &g) {
  ProgressReporter progress(PickProgressStyle(g.quiet, g.json));
  progress.CaptureLog();
  const ModelConfig model_config = a.runtime.ToModelConfig(a.model);
  const BundleConfig bundle = BundleConfig::Load(a.model);
  if (a.output == "-")
    throw Error(ErrorCode::kInvalidArgument, "-o -: a voice file is not sent to stdout; give -o NAME.voice");
  // the engine's transcript limit and input rule, before the recording is read or the model loads
  text::CheckTextLength(a.prompt_text, "voice transcript", text::kMaxTranscriptBytes);
  text::CleanInputText(a.prompt_text, "voice transcript");
  const Audio prompt = ReadPromptRecording(a.prompt_wav, "--prompt-wav", bundle.speech_tokenizer.max_seconds,
                                           [&progress](const std::string &m) { progress.Warning(m); });
  InputFiles inputs;
  inputs.Add(a.prompt_wav, "the prompt recording (--prompt-wav)");
  inputs.AddTree(a.model, "a file of the model bundle (-m)");
  inputs.CheckNotInput(a.output, "-o");
  std::unique_ptr<AtomicFile> out = OpenOutputFile(a.output, "-o");

  std::unique_ptr<Synthesizer> synthesizer = LoadModel(progress, model_config);
  const std::string name = std::filesystem::path(a.prompt_wav).filename().string();
  const Voice v = PrepareVoice(progress, *synthesizer, prompt, a.prompt_text, name);
  const std::string bytes = EncodeVoiceFile(v);
  out->Write(bytes.data(), bytes.size());
  out->Commit();
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.2f", v.prompt_seconds);
  progress.Summary("wrote " + a.output + ": " + std::to_string(v.speech_tokens.size()) +
                       " prompt tokens from " + name + " (" + seconds + " s)" +
                       (v.transcript.empty() ? ", no transcript" : ""),
                   {{"output", a.output},
                    {"prompt", name},
                    {"prompt_seconds", v.prompt_seconds},
                    {"prompt_tokens", v.speech_tokens.size()},
                    {"transcript", v.transcript}});
  return 0;
}

nlohmann::json VoiceJson(const Voice &v) {
  return {{"transcript", v.transcript},
          {"source", v.source},
          {"prompt_seconds", v.prompt_seconds},
          {"prompt_tokens", v.speech_tokens.size()},
          {"modes", v.transcript.empty() ? nlohmann::json{"cross_lingual", "instruct2", "vc"}
                                         : nlohmann::json{"zero_shot", "cross_lingual", "instruct2", "vc"}},
          {"frontend_id", v.frontend_id}};
}

int RunInfo(const VoiceArgs &a, const GlobalOptions &g) {
  const Voice v = Voice::Load(a.info_file);
  if (g.json) {
    nlohmann::json j = VoiceJson(v);
    j["file"] = a.info_file;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("voice        %s\n", a.info_file.c_str());
  std::printf("recording    %s (%.2f s)\n", v.source.c_str(), v.prompt_seconds);
  std::printf("transcript   %s\n",
              v.transcript.empty() ? "(none: cross_lingual, instruct2 and vc only)" : v.transcript.c_str());
  std::printf("prompt       %zu speech tokens\n", v.speech_tokens.size());
  std::printf("made with    frontend %s\n", v.frontend_id.c_str());
  return 0;
}

// One line of `voices`: up to `width` characters of `s` (UTF-8 aware: never cuts a character).
std::string Clip(const std::string &s, size_t width) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    if (chars + 1 > width) return out + "...";
    const char ch = s[i];
    out.append(s, i, len);
    if (ch == '\n' || ch == '\r' || ch == '\t') out.back() = ' ';
    i += len;
    ++chars;
  }
  return out;
}

int RunList(const std::string &dir, const GlobalOptions &g) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(ErrorCode::kIo, dir + ": no such directory");
  std::vector<fs::path> files;
  for (const auto &entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".voice") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  nlohmann::json list = nlohmann::json::array();
  if (!g.json && !files.empty()) std::printf("%-20s %8s  %s\n", "VOICE", "SECONDS", "TRANSCRIPT");
  for (const fs::path &f : files) {
    const std::string name = f.stem().string();
    try {
      const Voice v = Voice::Load(f.string());
      if (g.json) {
        nlohmann::json j = VoiceJson(v);
        j["name"] = name;
        j["file"] = f.string();
        list.push_back(j);
      } else {
        std::printf("%-20s %8.2f  %s\n", name.c_str(), v.prompt_seconds,
                    v.transcript.empty() ? "(none: not for zero_shot)" : Clip(v.transcript, 50).c_str());
      }
    } catch (const Error &e) {
      if (g.json)
        list.push_back({{"name", name}, {"file", f.string()}, {"error", e.what()}});
      else
        std::printf("%-20s %8s  (unusable: %s)\n", name.c_str(), "-", e.what());
    }
  }
  if (g.json)
    std::printf("%s\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else if (files.empty())
    std::fprintf(stderr, "no voice files (*.voice) in %s\n", dir.c_str());
  return 0;
}

}  // namespace

Command MakeVoiceCommand(CLI::App &parent, const GlobalOptions &global) {
  auto args = std::make_shared<VoiceArgs>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "voice", "Prepare a voice from a recording (create) or describe a voice file (info)");
  cmd.app->require_subcommand(1);
  CLI::App *create = cmd.app->add_subcommand("create", "Prompt recording + transcript -> voice file");
  create->add_option("-m,--model", args->model, "Bundle directory")->required();
  create->add_option("--prompt-wav", args->prompt_wav, "Recording of the voice (>= 16 kHz, 3-30 s of speech)")
      ->required();
  create->add_option("--prompt-text", args->prompt_text, "What the recording says (needed for zero-shot)");
  create->add_option("-o,--output", args->output, "Voice file to write, e.g. me.voice")->required();
  args->runtime.AddTo(create);
  CLI::App *info = cmd.app->add_subcommand("info", "Print what a voice file holds (--json: as JSON)");
  info->add_option("file", args->info_file, "Voice file")->required();
  const GlobalOptions *g = &global;
  cmd.run = [args, create, info, g] {
    if (create->parsed()) return RunCreate(*args, *g);
    if (info->parsed()) return RunInfo(*args, *g);
    return 1;
  };
  return cmd;
}

Command MakeVoicesCommand(CLI::App &parent, const GlobalOptions &global) {
  auto dir = std::make_shared<std::string>(".");
  Command cmd;
  cmd.app =
      parent.add_subcommand("voices", "List the voice files (*.voice) in a directory (--json: as JSON)");
  cmd.app->add_option("dir", *dir, "Directory (default: the current one)");
  const GlobalOptions *g = &global;
  cmd.run = [dir, g] { return RunList(*dir, *g); };
  return cmd;
}

}  // namespace cosyvoice::cli
