// bench/bench_vocoder.cc - the engine's vocoder (F0 graph, NSF excitation, generator graph, ISTFT) on
// one mel, timed per stage. Loads only the HiFT graphs of a bundle.
//
//   bench_vocoder BUNDLE MEL.npy [--threads N] [--runs N] [--warmup N] [--generator FILE] [--json]
//
// MEL.npy is float32 [80, T] (channel-major, what the flow outputs). --generator replaces the
// bundle's generator graph (e.g. a variant). bench/compare_vocoder.py runs this side by side with
// the PyTorch reference's HiFT on the same mel.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/npy.h"
#include "cosyvoice/error.h"
#include "engine/bundle_config.h"
#include "engine/vocoder.h"
#include "models/hift_graphs.h"

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

int Main(int argc, char **argv) {
  using namespace cosyvoice;
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: bench_vocoder BUNDLE MEL.npy [--threads N] [--runs N] [--warmup N] "
                 "[--generator FILE] [--json]\n");
    return 1;
  }
  RuntimeConfig rt;
  int runs = 5, warmup = 1;
  bool json = false;
  std::string generator;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(ErrorCode::kInvalidArgument, a + " needs a value");
      return argv[++i];
    };
    if (a == "--threads")
      rt.intra_op_threads = std::atoi(next().c_str());
    else if (a == "--runs")
      runs = std::max(1, std::atoi(next().c_str()));
    else if (a == "--warmup")
      warmup = std::max(0, std::atoi(next().c_str()));
    else if (a == "--generator")
      generator = next();
    else if (a == "--json")
      json = true;
    else
      throw Error(ErrorCode::kInvalidArgument, "unknown option " + a);
  }
  const BundleConfig bundle = BundleConfig::Load(argv[1]);
  const NpyArray mel = NpyArray::Load(argv[2]);
  const HiftConfig &h = bundle.hift;
  if (mel.rank() != 2 || mel.dim(0) != bundle.flow.mel_bins || mel.dtype() != DType::kFloat32)
    throw Error(ErrorCode::kInvalidArgument, std::string(argv[2]) + ": expected float32 [mel_bins, T]");
  const HiftF0Graph f0(bundle.Path(h.f0), bundle.flow.mel_bins, rt);
  const HiftGeneratorGraph gen(
      generator.empty() ? bundle.Path(h.generator) : std::filesystem::path(generator), bundle.flow.mel_bins,
      h.nb_harmonics + 1, h.istft_n_fft / 2 + 1, rt);
  const Vocoder vocoder(f0, gen, h);
  std::vector<double> total, st_f0, st_src, st_gen, st_istft;
  size_t samples = 0;
  for (int i = 0; i < warmup + runs; ++i) {
    VocoderStats st;
    const auto t0 = std::chrono::steady_clock::now();
    samples = vocoder.Run(mel.data<float>(), mel.dim(1), true, &st).size();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i < warmup) continue;
    total.push_back(s);
    st_f0.push_back(st.f0_seconds), st_src.push_back(st.source_seconds),
        st_gen.push_back(st.generator_seconds), st_istft.push_back(st.istft_seconds);
  }
  const double audio = static_cast<double>(samples) / h.sample_rate;
  if (json) {
    std::printf(
        "{\"frames\": %lld, \"audio_seconds\": %.4f, \"threads\": %d, \"runs\": %d, \"seconds\": %.6f, "
        "\"min_seconds\": %.6f, \"f0_seconds\": %.6f, \"source_seconds\": %.6f, \"generator_seconds\": %.6f, "
        "\"istft_seconds\": %.6f}\n",
        static_cast<long long>(mel.dim(1)), audio, rt.intra_op_threads, runs, Median(total),
        *std::min_element(total.begin(), total.end()), Median(st_f0), Median(st_src), Median(st_gen),
        Median(st_istft));
  } else {
    std::printf(
        "vocoder: %lld frames -> %.2f s of audio, %d thread(s), median of %d: %.3f s (F0 %.3f, source %.3f, "
        "generator %.3f, ISTFT+clamp %.3f)\n",
        static_cast<long long>(mel.dim(1)), audio, rt.intra_op_threads, runs, Median(total), Median(st_f0),
        Median(st_src), Median(st_gen), Median(st_istft));
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bench_vocoder: %s\n", e.what());
    return 2;
  }
}
