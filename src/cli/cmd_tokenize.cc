// src/cli/cmd_tokenize.cc - `cosyvoice tokenize`: text to the LLM's text token ids.
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
#include "text/input_text.h"

namespace cosyvoice::cli {
namespace {

BpeTokenizer LoadFromBundle(const std::string &bundle) {
  return LoadBundleTokenizer(BundleConfig::Load(bundle));
}

}  // namespace

Command MakeTokenizeCommand(CLI::App &parent, const GlobalOptions & /*global*/) {
  struct Args {
    std::string model, tokenizer_json, text;
  };
  auto args = std::make_shared<Args>();
  Command cmd;
  cmd.app = parent.add_subcommand("tokenize", "Print the text token ids of --text as a JSON array");
  auto *source = cmd.app->add_option_group("tokenizer", "Where the tokenizer comes from (exactly one)");
  source->add_option("--model", args->model,
                     "Model bundle directory (its tokenizer, as config.json names it)");
  source->add_option("--tokenizer-json", args->tokenizer_json,
                     "A Hugging Face tokenizer.json of the Qwen2 kind");
  source->require_option(1);
  cmd.app
      ->add_option("--text", args->text,
                   "UTF-8 text; added tokens such as <|endofprompt|> or [breath] are "
                   "matched as written, and an empty text gives []")
      ->required();
  cmd.run = [args] {
    const BpeTokenizer tokenizer = args->model.empty() ? BpeTokenizer::FromTokenizerJson(args->tokenizer_json)
                                                       : LoadFromBundle(args->model);
    // the same input rule as synthesis, so that these are the ids the engine would feed
    const std::vector<int32_t> ids = tokenizer.Encode(text::PrepareInputText(args->text, "text"));
    std::string line = "[";
    for (size_t i = 0; i < ids.size(); ++i) line += (i ? ", " : "") + std::to_string(ids[i]);
    std::printf("%s]\n", line.c_str());
    COSY_LOG(kDebug) << ids.size() << " tokens for " << args->text.size() << " bytes of text";
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
