// bench/load_server.cc - load generator for `cosyvoice serve` (not a timed test).
//
//   load_server --port 7860 --clients 16 --requests 60 --voice front [--pid SERVER_PID]
//
// C client threads each send M requests to POST /v1/audio/speech (streamed raw PCM, keep-alive
// connection per client) and measure, per request, the time to the first audio byte and to the
// end. Reports errors, p50/p95 of both, throughput (requests/s and audio seconds per second), and
// the server's resident memory (VmRSS of --pid) before and after. With --max-rss-growth-mb and
// --max-errors it exits 1 when a bound is exceeded (the CI's short run uses both).
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  double first_audio = 0, total = 0, audio_seconds = 0;
};

double RssMb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      static_cast<size_t>(std::min<double>(v.size() - 1, p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"Load generator for cosyvoice serve: C concurrent clients x M requests"};
  std::string host = "127.0.0.1", voice = "front", text = "Hello! This is a load test of the speech server.",
              api_key, json_out;
  int port = 7860, clients = 4, requests = 10, pid = 0, min_tokens = 0, max_tokens = 0, max_errors = -1;
  double max_rss_growth_mb = -1;
  app.add_option("--host", host)->default_val(host);
  app.add_option("--port", port, "Server port")->default_val(port);
  app.add_option("-c,--clients", clients, "Concurrent clients")->default_val(clients);
  app.add_option("-n,--requests", requests, "Requests per client")->default_val(requests);
  app.add_option("--voice", voice, "Voice (id or name) in the server's library")->default_val(voice);
  app.add_option("--text", text, "Text of every request");
  app.add_option("--min-tokens", min_tokens, "Fix the length: min speech tokens (0: unset)");
  app.add_option("--max-tokens", max_tokens, "Cap: max speech tokens (0: unset)");
  app.add_option("--api-key", api_key, "Bearer key, if the server needs one");
  app.add_option("--pid", pid, "Server process id, for its RSS before and after");
  app.add_option("--max-errors", max_errors, "Exit 1 above this many errors (-1: no bound)");
  app.add_option("--max-rss-growth-mb", max_rss_growth_mb,
                 "Exit 1 when the server's RSS grows more (-1: no bound)");
  app.add_option("--json", json_out, "Also write the results as JSON to this file");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json body = {{"model", "tts-1"}, {"input", text}, {"voice", voice}, {"response_format", "pcm"}};
  if (min_tokens > 0) body["min_tokens"] = min_tokens;
  if (max_tokens > 0) body["max_tokens"] = max_tokens;
  const std::string payload = body.dump();

  const double rss_before = RssMb(pid);
  std::mutex mutex;
  std::vector<Sample> samples;
  std::vector<std::string> errors;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(host, port);
      client.set_read_timeout(600, 0);
      client.set_keep_alive(true);
      for (int r = 0; r < requests; ++r) {
        httplib::Request req;
        req.method = "POST";
        req.path = "/v1/audio/speech";
        req.body = payload;
        req.set_header("Content-Type", "application/json");
        if (!api_key.empty()) req.set_header("Authorization", "Bearer " + api_key);
        const auto t0 = Clock::now();
        double first = -1;
        size_t bytes = 0;
        req.content_receiver = [&](const char *, size_t n, uint64_t, uint64_t) {
          if (first < 0) first = std::chrono::duration<double>(Clock::now() - t0).count();
          bytes += n;
          return true;
        };
        auto res = client.send(req);
        const double total = std::chrono::duration<double>(Clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(mutex);
        if (!res) {
          errors.push_back("transport: " + httplib::to_string(res.error()) + " (request " +
                           std::to_string(r + 1) + " on its connection, after " + std::to_string(total) +
                           " s)");
        } else if (res->status != 200) {
          errors.push_back("HTTP " + std::to_string(res->status));
        } else {
          samples.push_back({first, total, static_cast<double>(bytes) / 2.0 / 24000.0});
        }
      }
    });
  }
  for (auto &t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double rss_after = RssMb(pid);

  std::vector<double> first, total;
  double audio = 0;
  for (const auto &s : samples) {
    first.push_back(s.first_audio);
    total.push_back(s.total);
    audio += s.audio_seconds;
  }
  nlohmann::json out = {{"clients", clients},
                        {"requests", clients * requests},
                        {"ok", samples.size()},
                        {"errors", errors.size()},
                        {"first_audio_p50", Percentile(first, 0.5)},
                        {"first_audio_p95", Percentile(first, 0.95)},
                        {"total_p50", Percentile(total, 0.5)},
                        {"total_p95", Percentile(total, 0.95)},
                        {"wall_seconds", wall},
                        {"requests_per_second", static_cast<double>(samples.size()) / wall},
                        {"audio_seconds_per_second", audio / wall},
                        {"rss_before_mb", rss_before},
                        {"rss_after_mb", rss_after}};
  std::printf("load: %d clients x %d requests: %zu ok, %zu errors in %.1f s\n", clients, requests,
              samples.size(), errors.size(), wall);
  std::printf("  first audio  p50 %.3f s  p95 %.3f s\n", Percentile(first, 0.5), Percentile(first, 0.95));
  std::printf("  total        p50 %.3f s  p95 %.3f s\n", Percentile(total, 0.5), Percentile(total, 0.95));
  std::printf("  throughput   %.2f requests/s, %.2f s of audio per second\n", samples.size() / wall,
              audio / wall);
  if (pid > 0)
    std::printf("  server RSS   %.1f MB before, %.1f MB after (%+.1f MB)\n", rss_before, rss_after,
                rss_after - rss_before);
  for (size_t i = 0; i < std::min<size_t>(errors.size(), 5); ++i)
    std::printf("  error: %s\n", errors[i].c_str());
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";

  bool ok = true;
  if (max_errors >= 0 && static_cast<int>(errors.size()) > max_errors) {
    std::printf("FAIL: %zu errors (at most %d allowed)\n", errors.size(), max_errors);
    ok = false;
  }
  if (max_rss_growth_mb >= 0 && pid > 0 && rss_after - rss_before > max_rss_growth_mb) {
    std::printf("FAIL: server RSS grew %.1f MB (at most %.1f MB allowed)\n", rss_after - rss_before,
                max_rss_growth_mb);
    ok = false;
  }
  return ok ? 0 : 1;
}
