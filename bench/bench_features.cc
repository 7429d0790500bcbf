// bench/bench_features.cc - milliseconds per frontend feature extractor for a 10 s prompt.
//   build/bin/bench_features [seconds=10] [repeats=20]
// Single-threaded by construction (the extractors use one core). Prints the median of the repeats.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "audio/features.h"
#include "audio/reference_math.h"
#include "audio/resampler.h"

namespace {

// A speech-like test signal: a few gliding harmonics plus noise, amplitude ~0.3.
std::vector<float> Signal(int sample_rate, double seconds) {
  const auto n = static_cast<size_t>(sample_rate * seconds);
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / sample_rate;
    const double f0 = 120.0 + 40.0 * std::sin(2 * M_PI * 0.7 * t);
    double v = noise(rng);
    for (int h = 1; h <= 8; ++h) v += 0.08 / h * std::sin(2 * M_PI * f0 * h * t);
    x[i] = static_cast<float>(v);
  }
  return x;
}

double MedianMs(int repeats, const std::function<void()> &fn) {
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
  using namespace cosyvoice;
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 20;
  const std::vector<float> x16 = Signal(16000, seconds), x24 = Signal(24000, seconds);
  const std::vector<float> x48 = Signal(48000, seconds), x44 = Signal(44100, seconds);
  const KaldiFbankExtractor fbank;
  const WhisperLogMelExtractor whisper;
  const MatchaMelExtractor mel;
  float sink = 0;
  const double t_fbank = MedianMs(repeats, [&] { sink += fbank.Compute(x16.data(), x16.size()).data[0]; });
  const double t_whisper =
      MedianMs(repeats, [&] { sink += whisper.Compute(x16.data(), x16.size()).data[0]; });
  const double t_mel = MedianMs(repeats, [&] { sink += mel.Compute(x24.data(), x24.size()).data[0]; });
  std::printf("features for a %.1f s prompt (median of %d, one thread, SLEEF %s):\n", seconds, repeats,
              RefMathIsSleef() ? "on" : "off");
  std::printf("  kaldi fbank   [%lld, 80]   %7.2f ms\n",
              static_cast<long long>(KaldiFbankExtractor::NumFrames(x16.size())), t_fbank);
  std::printf("  whisper mel   [128, %lld]  %7.2f ms\n", static_cast<long long>(x16.size() / 160), t_whisper);
  std::printf("  matcha mel    [%lld, 80]   %7.2f ms\n", static_cast<long long>(x24.size() / 480), t_mel);
  std::printf("  all three                 %7.2f ms\n", t_fbank + t_whisper + t_mel);
  std::printf("resampling %.1f s (kernels cached):\n", seconds);
  for (const auto &[x, rate] : {std::pair{&x48, 48000}, std::pair{&x44, 44100}})
    for (int target : {16000, 24000}) {
      const auto r = GetResampler(rate, target);
      const double t = MedianMs(repeats, [&] { sink += r->Process(*x)[0]; });
      std::printf("  %5d -> %5d Hz           %7.2f ms\n", rate, target, t);
    }
  const auto t0 = std::chrono::steady_clock::now();
  Resampler cold(44100, 24000);
  std::printf("  kernel construction 44100 -> 24000: %.2f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  return sink == 12345.0f ? 1 : 0;  // keeps the work observable
}
