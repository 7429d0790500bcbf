// src/cli/main.cc - the `cosyvoice` command-line tool.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/command_registry.h"
#include "cli/signals.h"
#include "common/log.h"
#include "cosyvoice/error.h"
#include "cosyvoice/version.h"

namespace {

// The last line of a failed command: text for people, a JSON line with --json.
void PrintError(bool json, const std::string &command, int exit_code, const std::string &message) {
  if (json) {
    const nlohmann::json j = {{"event", "error"}, {"exit_code", exit_code}, {"message", message}};
    std::fprintf(stderr, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fprintf(stderr, "cosyvoice %s: error: %s\n", command.c_str(), message.c_str());
  }
}

void PrintCancelled(bool json, const std::string &command) {
  if (json)
    std::fprintf(stderr, "{\"event\":\"cancelled\"}\n");
  else
    std::fprintf(stderr, "cosyvoice %s: cancelled\n", command.c_str());
}

}  // namespace

int main(int argc, char **argv) {
  using namespace cosyvoice;
  // First, before any thread exists: every later thread inherits the blocked SIGINT/SIGTERM.
  cli::SignalWatcher::Install();

  CLI::App app{"cosyvoice: CosyVoice3 text-to-speech on ONNX Runtime"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);
  // Global flags are accepted after the subcommand too (`cosyvoice tts -q ...`): subcommands created
  // from here on pass the options they do not know up to this app.
  app.fallthrough();
  app.footer(
      "Exit codes: 0 ok, 1 usage error, 2 invalid argument, 3 invalid audio, 4 bad model bundle,\n"
      "5 i/o error, 6 runtime error, 8 unsupported; interrupted by Ctrl-C or SIGTERM: the process\n"
      "ends by that signal (shell status 130 or 143). See docs/cli.md.");

  cli::GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "Only print errors on stderr");
  app.add_flag("-v,--verbose", global.verbose, "Print debug information on stderr");
  app.add_flag("--json", global.json,
               "Machine-readable output: progress and errors as JSON lines on stderr, listings on stdout");

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
    const std::string name = command.app->get_name();
    cli::SignalWatcher::SetCancelledPrinter([&global, name] { PrintCancelled(global.json, name); });
    try {
      return command.run();
    } catch (const Error &e) {
      if (e.code() == ErrorCode::kCancelled && cli::SignalWatcher::Received() != 0) {
        PrintCancelled(global.json, name);
        cli::SignalWatcher::ExitBySignal(cli::SignalWatcher::Received());
      }
      PrintError(global.json, name, static_cast<int>(e.code()), e.what());
      return static_cast<int>(e.code());
    } catch (const std::exception &e) {
      PrintError(global.json, name, static_cast<int>(ErrorCode::kRuntime),
                 std::string("internal error: ") + e.what());
      return static_cast<int>(ErrorCode::kRuntime);
    }
  }
  return 1;
}
