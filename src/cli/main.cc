// src/cli/main.cc - the `cosyvoice` command-line tool.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <vector>

#include "cli/command_registry.h"
#include "common/log.h"
#include "cosyvoice/error.h"
#include "cosyvoice/version.h"

int main(int argc, char **argv) {
  using namespace cosyvoice;
  CLI::App app{"cosyvoice: CosyVoice3 text-to-speech on ONNX Runtime"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok, 1 usage error, 2 invalid argument, 3 invalid audio, 4 bad model bundle,\n"
      "5 i/o error, 6 runtime error, 7 cancelled, 8 unsupported. See docs/cli.md.");

  cli::GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "Only print errors on stderr");
  app.add_flag("-v,--verbose", global.verbose, "Print debug information on stderr");

  std::vector<cli::Command> commands;
  for (const auto &factory : cli::AllCommands()) commands.push_back(factory(app, global));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  SetLogLevel(global.quiet ? LogLevel::kError : global.verbose ? LogLevel::kDebug : LogLevel::kInfo);

  for (auto &command : commands) {
    if (!command.app->parsed()) continue;
    try {
      return command.run();
    } catch (const Error &e) {
      std::fprintf(stderr, "cosyvoice %s: error: %s\n", command.app->get_name().c_str(), e.what());
      return static_cast<int>(e.code());
    } catch (const std::exception &e) {
      std::fprintf(stderr, "cosyvoice %s: internal error: %s\n", command.app->get_name().c_str(), e.what());
      return static_cast<int>(ErrorCode::kRuntime);
    }
  }
  return 1;
}
