// Parity of the audio frontend with the Python reference (tests/tools/make_frontend_goldens.py).
//
// Bounds, each derived from the float32 error model (tests/unit/fp32_bounds.h, docs/parity.md):
// decoded samples identical (same libsndfile); resampled signals within torch's float32 convolution
// error (ours accumulates in float64); features elementwise within feature_bounds.h, which amplifies
// the FFT's error by the log of each band (quiet bands get wide bounds, loud ones tight), plus, from
// our own resampling, the resampling difference propagated into every bin. The building blocks
// (windows, FFT, row sums, resampling kernels, mel filters) are checked against torch within their
// own float32 bounds; the tables also count how many values are bit-identical to this torch build
// (informational: another torch build or CPU may round differently, within the bounds).
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
#include "feature_bounds.h"
#include "fp32_bounds.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

namespace fs = std::filesystem;
using testing::FftDepth;
using testing::Gamma;
using testing::kFnUlps;
using testing::kU;
using testing::kU64;
using testing::Pair;
using testing::Vs64;

fs::path FrontendData() {
  return testing::TestData() / "frontend";
}
fs::path GoldenDir() {
  return FrontendData() / "golden";
}

// The fixture generate_frontend_goldens fails when it cannot write them; a missing manifest fails here.
#define REQUIRE_GOLDENS()                                  \
  if (!fs::exists(GoldenDir() / "manifest.json"))          \
  GTEST_FAIL() << "no frontend goldens in " << GoldenDir() \
               << ": the fixture generate_frontend_goldens did not write them (see its output)"

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
  // Two float32 evaluations: argument 2 pi k / n (3 roundings on <= 2 pi, |cos'| <= 1), cos, and
  // 0.5 - 0.5 c (2 roundings) each; Povey's pow(h, 0.85) amplifies that by 0.85 h^-0.15 (h >= the
  // smallest nonzero value, at k = 1) and adds its own kFnUlps. (With SLEEF, ours calls the same
  // vectorised functions as torch, so the values are usually bit-identical: counted below.)
  const double hann_tol = 2 * (3 * M_PI + 0.5 * kFnUlps + 2) * kU;
  const double h1 = 0.5 - 0.5 * std::cos(2 * M_PI / 399.0);
  const double povey_tol = 0.85 * std::pow(h1, -0.15) * hann_tol + 2 * kFnUlps * kU;
  EXPECT_LE(MaxAbsDiff(HannWindow(400, true), hann400), hann_tol);
  EXPECT_LE(MaxAbsDiff(HannWindow(1920, true), hann1920), hann_tol);
  EXPECT_LE(MaxAbsDiff(PoveyWindow(400), povey), povey_tol);
  std::printf("windows: %zu/%zu/%zu values differ from torch (hann400, hann1920, povey; SLEEF %s)\n",
              CountDifferent(HannWindow(400, true), hann400),
              CountDifferent(HannWindow(1920, true), hann1920), CountDifferent(PoveyWindow(400), povey),
              RefMathIsSleef() ? "on" : "off");
}

TEST(FrontendGoldenComponents, RfftMatchesTorch) {
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
    double worst_ratio = 0;
    for (int64_t r = 0; r < in_shape[0]; ++r) {
      fft.Forward(in.data() + r * n, out.data(), work);
      // two float32 FFTs: each bin within gamma(FftDepth(n)) of the row's l1 norm on each side
      double l1 = 0;
      for (int j = 0; j < n; ++j) l1 += std::fabs(static_cast<double>(in[static_cast<size_t>(r * n + j)]));
      const double bound = 2 * Gamma(FftDepth(n)) * l1;
      for (size_t k = 0; k < out.size(); ++k) {
        const size_t at = static_cast<size_t>(r) * out.size() * 2 + 2 * k;
        const double d =
            std::abs(std::complex<double>(out[k]) - std::complex<double>(want[at], want[at + 1]));
        worst_ratio = std::max(worst_ratio, d / bound);
        got.push_back(out[k].real());
        got.push_back(out[k].imag());
      }
    }
    EXPECT_LE(worst_ratio, 1.0) << "n=" << n << " max diff " << MaxAbsDiff(got, want);
    std::printf("rfft n=%d: %zu of %zu values differ from torch's (worst %.2g of the bound)\n", n,
                CountDifferent(got, want), got.size(), worst_ratio);
  }
}

TEST(FrontendGoldenComponents, RowSumEqualsTorch) {
  REQUIRE_GOLDENS();
  std::vector<int64_t> shape;
  const std::vector<float> rows = LoadFloats(GoldenDir() / "components" / "sum_in_400.npy", &shape);
  const std::vector<float> want = LoadFloats(GoldenDir() / "components" / "sum_out_400.npy");
  std::vector<float> got;
  for (int64_t r = 0; r < shape[0]; ++r) {
    got.push_back(TorchContiguousSum(rows.data() + r * shape[1], 400));
    // two float32 sums of 400 terms in their own orders: 2 gamma(400) sum |x|
    double l1 = 0;
    for (int64_t j = 0; j < 400; ++j)
      l1 += std::fabs(static_cast<double>(rows[static_cast<size_t>(r * shape[1] + j)]));
    EXPECT_LE(std::fabs(static_cast<double>(got.back()) - static_cast<double>(want[static_cast<size_t>(r)])),
              Pair(400, l1))
        << r;
  }
  std::printf("row sums: %zu of %zu differ from torch's\n", CountDifferent(got, want), got.size());
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
  // Slaney filters: float64 on both sides, rounded once to float32: at most 1 ulp of the largest
  // weight (2/(hi - lo) of the narrowest filter: < 0.05 here) apart
  EXPECT_LE(whisper, kU * 2 * 0.05);
  EXPECT_LE(matcha, kU * 2 * 0.05);
  // Kaldi: both compute the mel scale in float32 (1127 log(1 + f/700): (kFnUlps + 3) u mel_max +
  // 2 * 1127 u), so each weight (m - left) / delta errs by 2 dmel / delta + 2 u on each side
  const double hi = 1127.0 * std::log(1.0 + 8000.0 / 700.0), lo = 1127.0 * std::log(1.0 + 20.0 / 700.0);
  const double dmel = (kFnUlps + 3) * kU * hi + 2 * 1127.0 * kU;
  EXPECT_LE(kaldi, 2 * (2 * dmel / ((hi - lo) / 81) + 2 * kU));
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
    // float64 on both sides (sinc, cos^2, a few products: ~(3 kFnUlps + 8) u64 apart), rounded once
    // to float32: at most 1 ulp of the largest tap apart
    double max_tap = 0;
    for (float v : want) max_tap = std::max(max_tap, std::fabs(static_cast<double>(v)));
    EXPECT_LE(MaxAbsDiff(r.kernel(), want), kU * 2 * max_tap)
        << name << ": " << CountDifferent(r.kernel(), want) << " taps differ";
  }
}

// ---- whole cases -----------------------------------------------------------------------------

// Lossless files (WAV, FLAC: integers scaled by a power of two) decode bit-identically everywhere.
// Lossy ones do not: libvorbis and mpg123 decode in float32, and another CPU (aarch64's fused
// multiply-add, another SIMD width) rounds differently - seen under qemu: 1.2e-7 (Ogg), 4.0e-7
// (MP3) against the x86-64 goldens. Their bound: the decoders' float32 depth per output sample -
// an inverse MDCT by FFT of up to N = 2048 points (Vorbis' long block; 2 log2 N butterfly stages
// forward and back) plus the window and overlap-add or the 16-term polyphase synthesis sum (MP3) -
// at 1 u each, on intermediates up to 4x full scale (the inverse MDCT's output before windowing
// reaches 2x, overlap-add sums two): (2 * 11 + 16) * u * 4 = 9.1e-6 for samples in [-1, 1].
constexpr double kLossyDecodeBound = (2 * 11 + 16) * kU * 4;

bool IsLossy(const std::string &file) {
  const std::string ext = file.substr(file.find_last_of('.') + 1);
  return ext == "ogg" || ext == "mp3" || ext == "opus";
}

TEST(FrontendGolden, DecodedAudioIsIdentical) {
  REQUIRE_GOLDENS();
  const nlohmann::json manifest = Manifest();
  for (const auto &c : manifest["cases"]) {
    const std::string file = c["file"].get<std::string>();
    const Audio audio = ReadAudio(FrontendData() / "wav" / file);
    EXPECT_EQ(audio.sample_rate, c["sample_rate"].get<int>()) << Label(c);
    const std::vector<float> want = LoadFloats(GoldenDir() / c["name"].get<std::string>() / "audio.npy");
    ASSERT_EQ(audio.samples.size(), want.size()) << Label(c);
    EXPECT_LE(MaxAbsDiff(audio.samples, want), IsLossy(file) ? kLossyDecodeBound : 0.0) << Label(c);
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
    const double b16 = testing::ResampleBound(audio, sr, 16000),
                 b24 = testing::ResampleBound(audio, sr, 24000);
    std::printf("%-36s %12.3g %12.3g   (bounds %.3g %.3g)\n", Label(c).c_str(), d16, d24, b16, b24);
    EXPECT_LE(d16, b16) << Label(c);
    EXPECT_LE(d24, b24) << Label(c);
    worst = std::max({worst, b16 > 0 ? d16 / b16 : d16, b24 > 0 ? d24 / b24 : d24});
  }
  std::printf("resampling: worst %.3g of the bound\n", worst);
}

// Per feature: the largest |ours - reference| as a fraction of its elementwise bound (<= 1 passes).
struct FeatureErrors {
  double fbank = -1, whisper = -1, mel = -1;
};

// Compares the three features computed from (x16, x24) with the case's goldens. dx16, dx24: how far
// x16, x24 may be from the reference's signals (0 when they are the reference's own).
FeatureErrors CompareFeatures(const nlohmann::json &c, const std::vector<float> &x16,
                              const std::vector<float> &x24, double dx16 = 0, double dx24 = 0) {
  const fs::path dir = GoldenDir() / c["name"].get<std::string>();
  FeatureErrors errors;
  const auto has = [&](const char *f) {
    for (const auto &v : c["features"])
      if (v.get<std::string>() == f) return true;
    return false;
  };
  const auto compare = [&](const char *feature, const FeatureMatrix &got, auto bounds) {
    std::vector<int64_t> shape;
    const std::vector<float> want = LoadFloats(dir / (std::string(feature) + ".npy"), &shape);
    EXPECT_EQ(got.shape(), shape) << Label(c) << " " << feature;
    if (got.data.size() != want.size()) return static_cast<double>(INFINITY);
    return testing::WorstRatio(got.data, want, bounds(want));
  };
  if (has("fbank"))
    errors.fbank =
        compare("fbank", KaldiFbank(x16), [&](const auto &) { return testing::FbankBounds(x16, dx16); });
  else
    EXPECT_COSY_ERROR(KaldiFbank(x16), ErrorCode::kInvalidAudio, "kaldi fbank");
  if (has("whisper"))
    errors.whisper = compare("whisper", WhisperLogMel(x16),
                             [&](const auto &want) { return testing::WhisperBounds(x16, want, dx16); });
  else
    EXPECT_COSY_ERROR(WhisperLogMel(x16), ErrorCode::kInvalidAudio, "whisper");
  if (has("mel"))
    errors.mel = compare("mel", MatchaMel(x24),
                         [&](const auto &want) { return testing::MatchaBounds(x24, want, dx24); });
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
    EXPECT_LE(e.fbank, 1.0) << Label(c);
    EXPECT_LE(e.whisper, 1.0) << Label(c);
    EXPECT_LE(e.mel, 1.0) << Label(c);
    worst = {std::max(worst.fbank, e.fbank), std::max(worst.whisper, e.whisper), std::max(worst.mel, e.mel)};
  }
  PrintRow("worst, fraction of the bound", worst);
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
    // our resampling differs from torchaudio's by at most ResampleBound per sample; that enters
    // every bin (feature_bounds.h), which is what widens the bounds of near-empty bands
    const int sr = c["sample_rate"].get<int>();
    const std::vector<float> decoded = LoadFloats(GoldenDir() / c["name"].get<std::string>() / "audio.npy");
    const FeatureErrors e =
        CompareFeatures(c, prompt.x16, prompt.x24, testing::ResampleBound(decoded, sr, 16000),
                        testing::ResampleBound(decoded, sr, 24000));
    PrintRow(Label(c), e);
    EXPECT_LE(e.fbank, 1.0) << Label(c);
    EXPECT_LE(e.whisper, 1.0) << Label(c);
    EXPECT_LE(e.mel, 1.0) << Label(c);
    worst = {std::max(worst.fbank, e.fbank), std::max(worst.whisper, e.whisper), std::max(worst.mel, e.mel)};
  }
  PrintRow("worst, fraction of the bound", worst);
}

}  // namespace
}  // namespace cosyvoice
