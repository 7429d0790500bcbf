// Parity of the audio frontend with the Python reference (tests/tools/make_frontend_goldens.py).
//
// Bounds (absolute): decoded samples identical (same libsndfile); resampled 16/24 kHz signals
// <= 1e-6 (torch's conv1d accumulates in float32, ours in float64); features computed from the
// reference's resampled signals <= 1e-4 in the log domain (measured: ~1e-6, see the printed
// table); features from our own resampling <= 1e-3 for recordings, 2e-2 for synthetic signals
// (the 1e-7 resampling differences, torch's float32 conv1d rounding, are amplified at spectral
// bins 80+ dB below a frame's peak). The building blocks (windows, FFT, row sums,
// resampling kernels, mel filters) are checked against torch separately; where the reference
// rounds in float32 they are expected to be bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audio/audio_io.h"
#include "audio/features.h"
#include "audio/fft.h"
#include "audio/mel_filters.h"
#include "audio/reference_math.h"
#include "audio/resampler.h"
#include "common/npy.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

namespace fs = std::filesystem;

fs::path FrontendData() {
  return testing::TestData() / "frontend";
}
fs::path GoldenDir() {
  return FrontendData() / "golden";
}

#define REQUIRE_GOLDENS()                                                                         \
  if (!fs::exists(GoldenDir() / "manifest.json"))                                                 \
  GTEST_SKIP() << "no frontend goldens in " << GoldenDir()                                        \
               << " (the reference module cosyvoice_export.frontend was not importable when the " \
                  "fixture ran)"

nlohmann::json Manifest() {
  std::ifstream in(GoldenDir() / "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<float> LoadFloats(const fs::path &path, std::vector<int64_t> *shape = nullptr) {
  NpyArray a = NpyArray::Load(path);
  if (shape != nullptr) *shape = a.shape();
  return a.ToVector<float>();
}

double MaxAbsDiff(const std::vector<float> &a, const std::vector<float> &b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return m;
}

size_t CountDifferent(const std::vector<float> &a, const std::vector<float> &b) {
  size_t n = a.size() == b.size() ? 0 : std::max(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += a[i] != b[i];
  return n;
}

// "speech_44k (44100 Hz)" style labels for the printed tables.
std::string Label(const nlohmann::json &c) {
  return c["name"].get<std::string>() + " (" + std::to_string(c["sample_rate"].get<int>()) + " Hz)";
}

// ---- building blocks -------------------------------------------------------------------------

TEST(FrontendGoldenComponents, WindowsEqualTorch) {
  REQUIRE_GOLDENS();
  const fs::path c = GoldenDir() / "components";
  const std::vector<float> hann400 = LoadFloats(c / "hann_400_periodic.npy");
  const std::vector<float> hann1920 = LoadFloats(c / "hann_1920_periodic.npy");
  const std::vector<float> povey = LoadFloats(c / "povey_400.npy");
  const double tol = RefMathIsSleef() ? 0.0 : 1.2e-7;  // 1-2 ulp without SLEEF
  EXPECT_LE(MaxAbsDiff(HannWindow(400, true), hann400), tol);
  EXPECT_LE(MaxAbsDiff(HannWindow(1920, true), hann1920), tol);
  EXPECT_LE(MaxAbsDiff(PoveyWindow(400), povey), tol);
  std::printf("windows: %zu/%zu/%zu values differ from torch (hann400, hann1920, povey; SLEEF %s)\n",
              CountDifferent(HannWindow(400, true), hann400),
              CountDifferent(HannWindow(1920, true), hann1920), CountDifferent(PoveyWindow(400), povey),
              RefMathIsSleef() ? "on" : "off");
}

TEST(FrontendGoldenComponents, RfftEqualsTorchBitForBit) {
  REQUIRE_GOLDENS();
  for (int n : {400, 512, 1920, 15, 12}) {
    std::vector<int64_t> in_shape, out_shape;
    const std::vector<float> in =
        LoadFloats(GoldenDir() / "components" / ("rfft_in_" + std::to_string(n) + ".npy"), &in_shape);
    const std::vector<float> want =
        LoadFloats(GoldenDir() / "components" / ("rfft_out_" + std::to_string(n) + ".npy"), &out_shape);
    ASSERT_EQ(out_shape[1], n / 2 + 1);
    RealFft fft(n);
    std::vector<std::complex<float>> out(static_cast<size_t>(fft.num_bins()));
    std::vector<float> work, got;
    for (int64_t r = 0; r < in_shape[0]; ++r) {
      fft.Forward(in.data() + r * n, out.data(), work);
      for (const auto &v : out) {
        got.push_back(v.real());
        got.push_back(v.imag());
      }
    }
    EXPECT_EQ(CountDifferent(got, want), 0u) << "n=" << n << " max diff " << MaxAbsDiff(got, want);
  }
}

TEST(FrontendGoldenComponents, RowSumEqualsTorch) {
  REQUIRE_GOLDENS();
  std::vector<int64_t> shape;
  const std::vector<float> rows = LoadFloats(GoldenDir() / "components" / "sum_in_400.npy", &shape);
  const std::vector<float> want = LoadFloats(GoldenDir() / "components" / "sum_out_400.npy");
  std::vector<float> got;
  for (int64_t r = 0; r < shape[0]; ++r) got.push_back(TorchContiguousSum(rows.data() + r * shape[1], 400));
  EXPECT_EQ(CountDifferent(got, want), 0u) << "max diff " << MaxAbsDiff(got, want);
}

TEST(FrontendGoldenComponents, MelFiltersMatch) {
  REQUIRE_GOLDENS();
  const fs::path c = GoldenDir() / "components";
  const double whisper =
      MaxAbsDiff(SlaneyMelFilters(16000, 400, 128, 0, 0), LoadFloats(c / "slaney_16000_400_128.npy"));
  const double matcha =
      MaxAbsDiff(SlaneyMelFilters(24000, 1920, 80, 0, 0), LoadFloats(c / "slaney_24000_1920_80.npy"));
  const double kaldi =
      MaxAbsDiff(KaldiMelBanks(80, 512, 16000, 20, 0), LoadFloats(c / "kaldi_banks_80_512.npy"));
  std::printf("mel filters max |diff|: whisper %.3g, matcha %.3g, kaldi %.3g\n", whisper, matcha, kaldi);
  EXPECT_LE(whisper, 1e-9);
  EXPECT_LE(matcha, 1e-9);
  EXPECT_LE(kaldi, 1e-6);  // float32 mel-scale arithmetic; torch's vectorized log vs ours
}

TEST(FrontendGoldenComponents, ResampleKernelsMatchTorchaudio) {
  REQUIRE_GOLDENS();
  for (const auto &entry : fs::directory_iterator(GoldenDir() / "components")) {
    const std::string name = entry.path().filename().string();
    int orig = 0, target = 0;
    if (std::sscanf(name.c_str(), "resample_kernel_%d_%d.npy", &orig, &target) != 2) continue;
    std::vector<int64_t> shape;
    const std::vector<float> want = LoadFloats(entry.path(), &shape);
    Resampler r(orig, target);
    ASSERT_EQ(shape[0], r.new_step()) << name;
    ASSERT_EQ(shape[1], 2 * r.width() + r.orig_step()) << name;
    EXPECT_LE(MaxAbsDiff(r.kernel(), want), 1e-9)
        << name << ": " << CountDifferent(r.kernel(), want) << " taps differ";
  }
}

// ---- whole cases -----------------------------------------------------------------------------

TEST(FrontendGolden, DecodedAudioIsIdentical) {
  REQUIRE_GOLDENS();
  const nlohmann::json manifest = Manifest();
  for (const auto &c : manifest["cases"]) {
    const Audio audio = ReadAudio(FrontendData() / "wav" / c["file"].get<std::string>());
    EXPECT_EQ(audio.sample_rate, c["sample_rate"].get<int>()) << Label(c);
    const std::vector<float> want = LoadFloats(GoldenDir() / c["name"].get<std::string>() / "audio.npy");
    EXPECT_EQ(MaxAbsDiff(audio.samples, want), 0.0) << Label(c);
  }
}

TEST(FrontendGolden, ResampledSignalsMatch) {
  REQUIRE_GOLDENS();
  std::printf("%-36s %12s %12s\n", "resampling, max |diff|", "x16", "x24");
  double worst = 0;
  const nlohmann::json manifest = Manifest();
  for (const auto &c : manifest["cases"]) {
    const fs::path dir = GoldenDir() / c["name"].get<std::string>();
    const std::vector<float> audio = LoadFloats(dir / "audio.npy");
    const int sr = c["sample_rate"].get<int>();
    const std::vector<float> x16 = Resample(audio, sr, 16000), x24 = Resample(audio, sr, 24000);
    const double d16 = MaxAbsDiff(x16, LoadFloats(dir / "x16.npy"));
    const double d24 = MaxAbsDiff(x24, LoadFloats(dir / "x24.npy"));
    std::printf("%-36s %12.3g %12.3g\n", Label(c).c_str(), d16, d24);
    EXPECT_LE(d16, 1e-6) << Label(c);
    EXPECT_LE(d24, 1e-6) << Label(c);
    worst = std::max({worst, d16, d24});
  }
  std::printf("resampling: worst max |diff| %.3g (bound 1e-6)\n", worst);
}

struct FeatureErrors {
  double fbank = -1, whisper = -1, mel = -1;
};

// Compares the three features computed from (x16, x24) with the case's goldens.
FeatureErrors CompareFeatures(const nlohmann::json &c, const std::vector<float> &x16,
                              const std::vector<float> &x24) {
  const fs::path dir = GoldenDir() / c["name"].get<std::string>();
  FeatureErrors errors;
  const auto has = [&](const char *f) {
    for (const auto &v : c["features"])
      if (v.get<std::string>() == f) return true;
    return false;
  };
  const auto compare = [&](const char *feature, const FeatureMatrix &got) {
    std::vector<int64_t> shape;
    const std::vector<float> want = LoadFloats(dir / (std::string(feature) + ".npy"), &shape);
    EXPECT_EQ(got.shape(), shape) << Label(c) << " " << feature;
    return MaxAbsDiff(got.data, want);
  };
  if (has("fbank"))
    errors.fbank = compare("fbank", KaldiFbank(x16));
  else
    EXPECT_COSY_ERROR(KaldiFbank(x16), ErrorCode::kInvalidAudio, "kaldi fbank");
  if (has("whisper"))
    errors.whisper = compare("whisper", WhisperLogMel(x16));
  else
    EXPECT_COSY_ERROR(WhisperLogMel(x16), ErrorCode::kInvalidAudio, "whisper");
  if (has("mel"))
    errors.mel = compare("mel", MatchaMel(x24));
  else
    EXPECT_COSY_ERROR(MatchaMel(x24), ErrorCode::kInvalidAudio, "matcha mel");
  return errors;
}

void PrintRow(const std::string &label, const FeatureErrors &e) {
  const auto cell = [](double v) {
    char buf[32];
    if (v < 0)
      std::snprintf(buf, sizeof(buf), "%12s", "rejected");
    else
      std::snprintf(buf, sizeof(buf), "%12.3g", v);
    return std::string(buf);
  };
  std::printf("%-36s%s%s%s\n", label.c_str(), cell(e.fbank).c_str(), cell(e.whisper).c_str(),
              cell(e.mel).c_str());
}

TEST(FrontendGolden, FeaturesMatchFromReferenceSignals) {
  REQUIRE_GOLDENS();
  std::printf("%-36s %11s %11s %11s\n", "features from reference x16/x24", "fbank", "whisper", "mel");
  FeatureErrors worst{0, 0, 0};
  const nlohmann::json manifest = Manifest();
  for (const auto &c : manifest["cases"]) {
    const fs::path dir = GoldenDir() / c["name"].get<std::string>();
    const FeatureErrors e = CompareFeatures(c, LoadFloats(dir / "x16.npy"), LoadFloats(dir / "x24.npy"));
    PrintRow(Label(c), e);
    EXPECT_LE(e.fbank, 1e-4) << Label(c);
    EXPECT_LE(e.whisper, 1e-4) << Label(c);
    EXPECT_LE(e.mel, 1e-4) << Label(c);
    worst = {std::max(worst.fbank, e.fbank), std::max(worst.whisper, e.whisper), std::max(worst.mel, e.mel)};
  }
  PrintRow("worst (bound 1e-4)", worst);
}

TEST(FrontendGolden, FeaturesMatchEndToEnd) {
  REQUIRE_GOLDENS();
  std::printf("%-36s %11s %11s %11s\n", "features from the file (C++ resampling)", "fbank", "whisper", "mel");
  FeatureErrors worst{0, 0, 0};
  const nlohmann::json manifest = Manifest();
  for (const auto &c : manifest["cases"]) {
    const std::string name = c["file"].get<std::string>();
    const Audio audio = ReadAudio(FrontendData() / "wav" / name);
    AudioRequirements req;
    req.max_seconds = 0;
    const PromptAudio prompt = PreparePromptAudio(audio, name, req);
    const FeatureErrors e = CompareFeatures(c, prompt.x16, prompt.x24);
    PrintRow(Label(c), e);
    // Recorded audio has no empty bands; synthetic chirps/tones resampled up have bands holding
    // only the resampler's rounding noise, where the two float32 noise floors differ more.
    const double bound = c["kind"].get<std::string>() == "speech" ? 1e-3 : 2e-2;
    EXPECT_LE(e.fbank, bound) << Label(c);
    EXPECT_LE(e.whisper, bound) << Label(c);
    EXPECT_LE(e.mel, bound) << Label(c);
    worst = {std::max(worst.fbank, e.fbank), std::max(worst.whisper, e.whisper), std::max(worst.mel, e.mel)};
  }
  PrintRow("worst (bound 1e-3 speech, 2e-2 synthetic)", worst);
}

}  // namespace
}  // namespace cosyvoice
