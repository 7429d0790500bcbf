// src/cli/cmd_ab.cc - `cosyvoice ab`: the A/B quality gate of a variant against the fp32 bundle
// (docs/quantization.md §5).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "cli/command_registry.h"
#include "common/log.h"
#include "common/timer.h"
#include "cosyvoice/cosyvoice.h"
#include "quality/ab_cases.h"
#include "quality/ab_report.h"
#include "quality/ab_runner.h"

namespace cosyvoice::cli {
namespace {

namespace fs = std::filesystem;
using quality::AbCase;
using quality::AbSummary;

// Exit code of a variant over its thresholds (docs/cli.md).
constexpr int kGateFailed = 9;

struct AbArgs {
  std::string model, texts_file, report_dir, modes = "zero_shot,cross_lingual,instruct2";
  std::vector<std::string> variant_models, voices, prompt_wavs, prompt_texts;
  int seeds = 3, tokens = 0, max_cases = 0;
  RuntimeOptions runtime;
};

std::vector<Mode> ParseModes(const std::string &text) {
  std::vector<Mode> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find(',', start);
    const std::string item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!item.empty()) out.push_back(ParseMode(item));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (out.empty())
    throw Error(ErrorCode::kInvalidArgument, "--modes: expected a comma-separated list of modes");
  return out;
}

// Voices from --voice files and --prompt-wav/--prompt-text pairs; the ALSA sample prompts otherwise.
std::vector<std::unique_ptr<Voice>> LoadVoices(const AbArgs &a, const Model &model,
                                               std::vector<std::string> *names) {
  std::vector<std::unique_ptr<Voice>> out;
  for (const std::string &f : a.voices) {
    out.push_back(std::make_unique<Voice>(Voice::Load(f)));
    names->push_back(fs::path(f).stem().string());
  }
  if (!a.prompt_texts.empty() && a.prompt_texts.size() != a.prompt_wavs.size())
    throw Error(ErrorCode::kInvalidArgument, "--prompt-text: give one per --prompt-wav (in the same order)");
  std::vector<std::string> wavs = a.prompt_wavs, texts = a.prompt_texts;
  if (out.empty() && wavs.empty()) {  // the sample prompts of Debian's alsa-utils
    wavs = {"/usr/share/sounds/alsa/Front_Center.wav", "/usr/share/sounds/alsa/Rear_Left.wav"};
    texts = {"Front center.", "Rear left."};
  }
  texts.resize(wavs.size());
  for (size_t i = 0; i < wavs.size(); ++i) {
    out.push_back(std::make_unique<Voice>(model.CreateVoiceFromFile(wavs[i], texts[i])));
    names->push_back(fs::path(wavs[i]).stem().string());
  }
  return out;
}

// Each side runs exactly the files of its config.json that DifferingFamilies compared: `base`, not
// the default fp32, which would take a bundle's fp32-equivalent variants (the fused LLM graph,
// hift/fp32-winograd) and so judge a variant against itself, or against a different reference.
std::shared_ptr<const Model> Open(const std::string &dir, const RuntimeOptions &runtime) {
  ModelConfig config;
  config.model_dir = dir;
  config.runtime = runtime.ToConfig();
  config.precision = "base";
  return Model::Load(config);
}

// "llm=base,flow=base,..." as the loaded model reports what it runs (ab.json's `graphs`).
std::string GraphsOf(const Model &model) {
  std::string out;
  for (const auto &p : model.info().precisions) out += (out.empty() ? "" : ",") + p.family + "=" + p.variant;
  return out;
}

// ab.json: what `python -m cosyvoice_export variant record` writes into the variant's gate.
nlohmann::json SummaryJson(const AbSummary &s, const quality::AbFamilies &families, const std::string &report,
                           const std::string &providers, const nlohmann::json &graphs) {
  nlohmann::json figures = nlohmann::json::object(), thresholds = nlohmann::json::object();
  for (const auto &m : s.metrics) {
    if (m.cases == 0) continue;
    figures[m.name] = m.value;
    thresholds[m.name] = m.threshold;
  }
  nlohmann::json j = {{"variant", s.variant},
                      {"families", families.Describe()},
                      {"status", s.passed() ? "passed" : "failed"},
                      {"tool", std::string("cosyvoice ab ") + kVersion},
                      {"date", UtcNowIso8601()},  // the gate's date, docs/bundle.md §7
                      {"providers", providers},
                      {"cases", s.cases},
                      {"figures", figures},
                      {"thresholds", thresholds},
                      {"graphs", graphs}};
  if (const auto spread = s.thresholds.reference_sampling_spread)
    j["reference_sampling_spread"] = *spread;  // what the token_edit_distance bound came from
  if (!report.empty()) j["report"] = report;
  return j;
}

void WriteText(const fs::path &path, const std::string &text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!(f << text)) throw Error(ErrorCode::kIo, path.string() + ": cannot write");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::kIo, path.string() + ": cannot rename the finished file into place");
}

// Where variant `v` of `variants` writes its report: REPORT itself for one variant, else
// REPORT/<the variant directory's name>/.
fs::path ReportDirOf(const AbArgs &a, const std::string &v) {
  if (a.report_dir.empty() || a.variant_models.size() == 1) return a.report_dir;
  fs::path p = fs::path(v).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return fs::path(a.report_dir) / p.filename();
}

quality::AbRunOptions RunOptionsOf(const AbArgs &a, const GlobalOptions &g, const fs::path &report_dir) {
  quality::AbRunOptions opt;
  if (a.tokens > 0) opt.min_tokens = opt.max_tokens = a.tokens;
  if (!report_dir.empty()) {
    fs::create_directories(report_dir / "img");
    opt.image_dir = (report_dir / "img").string();
    opt.image_link_prefix = "img/";
  }
  if (!g.quiet) opt.progress = [](const std::string &m) { COSY_LOG(kInfo) << "ab: " << m; };
  return opt;
}

// Judges one variant against the reference's results: prints the verdict, writes its report.
bool JudgeVariant(const AbArgs &a, const GlobalOptions &g, const std::string &variant_model,
                  const quality::AbFamilies &families, const std::vector<quality::AbCaseSpec> &cases,
                  const std::vector<quality::AbReferenceCase> &reference,
                  std::optional<double> sampling_spread, const std::string &reference_graphs) {
  const fs::path report_dir = ReportDirOf(a, variant_model);
  const quality::AbRunner runner(RunOptionsOf(a, g, report_dir));
  const auto var = Open(variant_model, a.runtime);
  const std::vector<AbCase> results = runner.RunVariant(*var, cases, reference, families);
  const nlohmann::json graphs = {{"reference", reference_graphs}, {"variant", GraphsOf(*var)}};

  const std::string variant_name = variant_model + " (" + families.Describe() + ")";
  quality::AbThresholds thresholds;
  if (families.llm)
    thresholds.reference_sampling_spread = sampling_spread;  // only LLM variants draw their own tokens
  const AbSummary summary = quality::Summarize(variant_name, results, thresholds);
  std::string report_path;
  if (!report_dir.empty()) {
    report_path = (report_dir / "report.md").string();
    const std::string notes =
        "Reference `" + a.model + "`, variant `" + variant_model +
        "`; families that differ: " + families.Describe() + "; threads " +
        (a.runtime.threads.empty() ? std::string("default") : a.runtime.threads) +
        (a.tokens > 0 ? "; " + std::to_string(a.tokens) + " speech tokens per segment" : "") +
        ". Made by `cosyvoice ab`.";
    WriteText(report_path, quality::RenderMarkdown(summary, results, notes));
    WriteText(report_dir / "ab.json",
              SummaryJson(summary, families, "report.md", a.runtime.providers, graphs).dump(2) + "\n");
  }
  if (g.json) {
    std::printf("%s\n",
                SummaryJson(summary, families, report_path, a.runtime.providers, graphs).dump(2).c_str());
  } else {
    std::printf("cosyvoice ab: %s vs fp32, %lld cases: %s\n", variant_name.c_str(),
                static_cast<long long>(summary.cases), summary.passed() ? "passed" : "FAILED");
    for (const auto &m : summary.metrics) {
      if (m.cases == 0) continue;
      std::printf("  %-22s %-6s %10.4f  (%s %.4f)%s\n", m.name.c_str(), m.aggregate.c_str(), m.value,
                  m.higher_is_better ? ">=" : "<=", m.threshold, m.passed() ? "" : "  OVER");
    }
    if (const auto spread = thresholds.reference_sampling_spread)
      std::printf("  (token_edit_distance bound: max(%.2f, the reference's own seed-to-seed spread %.4f))\n",
                  thresholds.max_token_edit_distance, *spread);
    if (!report_path.empty()) std::printf("  report: %s\n", report_path.c_str());
  }
  std::fflush(stdout);
  return summary.passed();
}

int Run(const AbArgs &a, const GlobalOptions &g) {
  if (a.variant_models.empty())
    throw Error(ErrorCode::kInvalidArgument, "ab: give the variant to judge with --variant-model DIR");
  const std::vector<Mode> modes = ParseModes(a.modes);
  const std::vector<quality::AbText> texts =
      a.texts_file.empty() ? quality::DefaultAbTexts() : quality::ReadAbTexts(a.texts_file);

  // Which families differ is known from the config.json files, before any model loads.
  const quality::ModelFiles ref_files = quality::ModelFiles::Of(BundleConfig::Load(a.model));
  std::vector<quality::AbFamilies> families;
  std::vector<fs::path> report_dirs;
  for (const std::string &v : a.variant_models) {
    families.push_back(quality::DifferingFamilies(ref_files, quality::ModelFiles::Of(BundleConfig::Load(v))));
    if (!families.back().any())
      throw Error(ErrorCode::kInvalidArgument, "ab: " + v + " has the same graphs as " + a.model);
    const fs::path dir = ReportDirOf(a, v);
    if (!dir.empty() && std::find(report_dirs.begin(), report_dirs.end(), dir) != report_dirs.end())
      throw Error(ErrorCode::kInvalidArgument, "ab: two --variant-model directories are named " +
                                                   dir.filename().string() + ": their reports would share " +
                                                   dir.string());
    report_dirs.push_back(dir);
  }

  // The reference runs once and keeps what the comparisons need; then one variant at a time is loaded.
  std::vector<std::unique_ptr<Voice>> voices;
  std::vector<std::string> names;
  std::vector<quality::AbCaseSpec> cases;
  std::vector<quality::AbReferenceCase> reference;
  std::string reference_graphs;
  {
    const auto ref = Open(a.model, a.runtime);
    reference_graphs = GraphsOf(*ref);
    voices = LoadVoices(a, *ref, &names);
    std::vector<quality::AbVoice> av;
    for (size_t i = 0; i < voices.size(); ++i) av.push_back({names[i], voices[i].get()});
    cases = quality::BuildAbCases(texts, av, modes, a.seeds);
    if (a.max_cases > 0 && static_cast<int>(cases.size()) > a.max_cases)
      cases.resize(static_cast<size_t>(a.max_cases));
    if (cases.empty())
      throw Error(ErrorCode::kInvalidArgument, "ab: no cases (a zero-shot voice needs a transcript)");
    reference = quality::AbRunner(RunOptionsOf(a, g, {})).RunReference(*ref, cases);
  }
  const std::optional<double> spread = quality::ReferenceSamplingSpread(cases, reference);
  if (spread && !g.quiet) COSY_LOG(kInfo) << "ab: the reference's seed-to-seed token spread is " << *spread;
  bool all_passed = true;
  for (size_t i = 0; i < a.variant_models.size(); ++i)
    all_passed =
        JudgeVariant(a, g, a.variant_models[i], families[i], cases, reference, spread, reference_graphs) &&
        all_passed;
  return all_passed ? 0 : kGateFailed;
}

}  // namespace

Command MakeAbCommand(CLI::App &parent, const GlobalOptions &global) {
  auto args = std::make_shared<AbArgs>();
  Command cmd;
  cmd.app = parent.add_subcommand(
      "ab", "A/B quality gate: a variant against the fp32 bundle, same inputs and seeds");
  CLI::App *app = cmd.app;
  app->add_option("-m,--model", args->model, "Reference (fp32) bundle directory")->required();
  app->add_option("--variant-model", args->variant_models,
                  "Bundle whose graphs are judged against --model (e.g. a `variant view` of a quantized "
                  "flow estimator); repeatable: the reference runs once, then each variant, each with its "
                  "own verdict and, with several, its report in REPORT/<directory name>/");
  app->add_option("--voice", args->voices, "Voice file (repeatable); texts take the voices in turn");
  app->add_option("--prompt-wav", args->prompt_wavs, "Prompt recording to make a voice from (repeatable)");
  app->add_option("--prompt-text", args->prompt_texts, "Transcript of each --prompt-wav, in order");
  app->add_option("--texts", args->texts_file,
                  "TSV of id, language, text[, instruction] (default: built-in "
                  "zh/en/ja/ko texts with numbers and polyphonic characters)");
  app->add_option("--modes", args->modes, "Modes to run")->default_val(args->modes);
  app->add_option("--seeds", args->seeds, "Seeds per text and mode (0..N-1)")
      ->default_val(3)
      ->check(CLI::Range(1, 100));
  app->add_option("--tokens", args->tokens,
                  "Generate exactly this many speech tokens per segment (random-weight models never stop)");
  app->add_option("--max-cases", args->max_cases, "Run only the first N cases");
  app->add_option("--report", args->report_dir, "Directory for report.md, ab.json and the spectrogram PNGs");
  args->runtime.AddTo(app);
  const GlobalOptions *g = &global;
  cmd.run = [args, g] { return Run(*args, *g); };
  return cmd;
}

}  // namespace cosyvoice::cli
