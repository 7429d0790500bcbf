// src/cli/cmd_serve.cc - `cosyvoice serve`: the HTTP API and web page (src/server/, docs/server.md).
#include <cstdlib>
#include <memory>
#include <thread>

#include "cli/command_registry.h"
#include "cli/signals.h"
#include "common/log.h"
#include "server/server.h"

namespace cosyvoice::cli {

Command MakeServeCommand(CLI::App &parent, const GlobalOptions &global) {
  struct Args {
    server::ServerConfig config;
    std::vector<std::string> keys;
    std::string key_file;
    double max_body_mb = 32;
    StreamCacheOptions stream_cache;
  };
  auto args = std::make_shared<Args>();
  server::ServerConfig &c = args->config;
  Command cmd;
  cmd.app =
      parent.add_subcommand("serve", "HTTP API (OpenAI-compatible and the official routes) and a web page");
  cmd.app->add_option("-m,--model", c.model_dir, "Bundle directory (docs/bundle.md)")->required();
  cmd.app->add_option("--host", c.host, "Address to listen on (another than loopback needs an API key)")
      ->default_val("127.0.0.1");
  cmd.app->add_option("--port", c.port, "Port (0: any free port, printed at start)")->default_val(7860);
  cmd.app->add_option("--data-dir", c.data_dir,
                      "Directory of the voice library (SQLite); none: voices in memory only");
  cmd.app->add_option("--api-key", args->keys,
                      "Key clients must send as 'Authorization: Bearer KEY' (repeatable)");
  cmd.app->add_option("--api-key-file", args->key_file, "File with API keys, one per line ('#' comments)");
  cmd.app->add_option("--workers", c.workers, "Concurrent syntheses (0: half the cores)")->default_val(0);
  cmd.app->add_option("--queue", c.queue, "Requests that may wait for a worker before 429 (-1: 4 x workers)")
      ->default_val(-1);
  cmd.app->add_option("--threads", c.threads, "ONNX Runtime threads per worker (0: cores / workers)")
      ->default_val(0);
  cmd.app
      ->add_option(
          "--precision", c.precision,
          "Bundle variants to run (docs/bundle.md §7): fp32|fp16|int8|int4|auto|base or a variant name, "
          "for all graph families or per family, e.g. llm=int4,flow=int8")
      ->default_val("fp32");
  args->stream_cache.AddTo(cmd.app);
  cmd.app
      ->add_option("--provider", c.providers,
                   "Execution providers in order of preference, e.g. webgpu,cpu (docs/gpu.md)")
      ->default_val("cpu");
  cmd.app
      ->add_option("--stream-mode", c.stream_mode,
                   "How streamed requests that name none are computed: exact (upstream's audio), fast (first "
                   "audio ~2x sooner, docs/streaming.md) or recompute")
      ->default_val("exact");
  cmd.app->add_option("--timeout", c.timeout_seconds, "Per-request deadline in seconds, queueing included")
      ->default_val(300);
  cmd.app
      ->add_option("--shutdown-grace", c.shutdown_grace_seconds,
                   "On SIGTERM, seconds in-flight requests may finish")
      ->default_val(30);
  cmd.app->add_option("--max-body-mb", args->max_body_mb, "Largest request body in MiB")->default_val(32);
  cmd.app->add_option("--max-text-chars", c.max_text_chars, "Longest text per request")->default_val(4096);
  cmd.app->add_option("--max-prompt-seconds", c.max_prompt_seconds, "Longest prompt recording")
      ->default_val(30);
  cmd.app->add_option("--max-voices", c.max_voices, "Size of the voice library")->default_val(1000);
  cmd.app
      ->add_option("--max-text-sessions", c.max_text_sessions,
                   "Text-in streaming sessions open at once (docs/server.md)")
      ->default_val(16);
  cmd.app
      ->add_option("--text-idle-timeout", c.text_idle_seconds,
                   "Seconds a text session's text may stall before it counts as ended")
      ->default_val(30);
  cmd.app->footer(
      "Examples:\n"
      "  cosyvoice serve -m bundle --data-dir voices            # http://127.0.0.1:7860/\n"
      "  COSYVOICE_API_KEY=secret cosyvoice serve -m bundle --host 0.0.0.0\n"
      "  cosyvoice serve -m bundle --precision llm=int4,flow=int8   # the quantized variants\n"
      "See docs/server.md for the API.");
  const GlobalOptions *g = &global;
  cmd.run = [args, g] {
    server::ServerConfig &config = args->config;
    config.max_body_bytes = static_cast<size_t>(args->max_body_mb * 1024 * 1024);
    config.api_keys = server::CollectApiKeys(args->keys, args->key_file, std::getenv("COSYVOICE_API_KEY"));
    config.quiet_requests = g->quiet;
    config.stream_cache = args->stream_cache.precision;
    config.max_stream_cache_mb = args->stream_cache.max_mb;
    config.Validate();

    COSY_LOG(kInfo) << "loading " << config.model_dir << " for " << config.ResolvedWorkers() << " workers"
                    << (config.precision == "fp32" ? "" : ", precision " + config.precision);
    ModelConfig model_config;
    model_config.model_dir = config.model_dir;
    model_config.runtime.intra_op_threads = config.ResolvedThreads();
    model_config.runtime.providers = ParseProviderList(config.providers);
    model_config.precision = config.precision;
    model_config.stream_cache = config.stream_cache;
    model_config.max_stream_cache_bytes = config.max_stream_cache_mb << 20;
    auto backend = server::LoadEngineBackend(model_config);
    auto store = config.data_dir.empty() ? server::NewMemoryVoiceStore(config.max_voices)
                                         : server::OpenSqliteVoiceStore(config.data_dir, config.max_voices);
    server::HttpServer http(config, std::move(backend), std::move(store));
    const int port = http.Bind();
    // SIGTERM/SIGINT (cli/signals.h): the first asks for a graceful shutdown (in-flight requests
    // finish), a second one ends the process at once.
    CancelScope shutdown([&http] { std::thread([&http] { http.Shutdown(); }).detach(); });
    server::ServerState &s = http.state();
    COSY_LOG(kInfo) << "listening on http://"
                    << (config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host)
                    << ":" << port << "/ (" << s.pool->workers() << " workers, queue "
                    << s.pool->queue_capacity() << ", voices: " << s.store->Describe()
                    << (config.api_keys.empty() ? "" : ", API key required") << ")";
    http.Run();
    COSY_LOG(kInfo) << "stopped";
    return 0;
  };
  return cmd;
}

}  // namespace cosyvoice::cli
