// src/cli/cmd_normalize.cc - `cosyvoice normalize --text TEXT`: the text frontend's segments as JSON.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/command_registry.h"
#include "common/log.h"
#include "cosyvoice/error.h"
#include "engine/bundle_config.h"
#include "engine/text_processor.h"
#include "text/bpe_tokenizer.h"
#include "text/text_frontend.h"

namespace cosyvoice::cli {

namespace {

// The bundle's tokenizer as the English length function of split_paragraph (as upstream counts).
TokenCounter BundleTokenCounter(const std::string &bundle) {
  auto tokenizer = std::make_shared<BpeTokenizer>(LoadBundleTokenizer(BundleConfig::Load(bundle)));
  return [tokenizer](std::string_view text) { return tokenizer->Encode(text).size(); };
}

}  // namespace

Command MakeNormalizeCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  struct Args {
    std::string text;
    std::string lang = "auto";
    bool no_split = false;
    std::string model;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand("normalize", "Normalize and split text as the synthesis frontend does");
  cmd.app->add_option("--text", args->text, "The text to normalize")->required();
  cmd.app->add_option("--lang", args->lang, "auto (Chinese when the text has Han characters), zh or en")
      ->default_val("auto");
  cmd.app->add_flag("--no-split", args->no_split, "Print the normalized text as one segment, unsplit");
  cmd.app->add_option("--model", args->model, "Model bundle whose tokenizer measures English segments");
  cmd.run = [args] {
    TextFrontendOptions options;
    options.language = ParseTextLanguage(args->lang);
    if (!args->model.empty()) options.token_counter = BundleTokenCounter(args->model);
    const TextFrontend frontend(options);
    nlohmann::json segments = nlohmann::json::array();
    if (args->no_split)
      segments.push_back(frontend.Normalize(args->text));
    else
      for (const auto &segment : frontend.Split(args->text)) segments.push_back(segment);
    std::printf("%s\n", segments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
