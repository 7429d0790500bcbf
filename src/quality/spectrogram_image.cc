// src/quality/spectrogram_image.cc
#include "quality/spectrogram_image.h"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cosyvoice/error.h"

namespace cosyvoice::quality {
namespace {

using Rgb = std::array<double, 3>;

Rgb Lerp(const Rgb &a, const Rgb &b, double t) {
  return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

// t in [0, 1] -> a dark-to-bright ramp (black, indigo, magenta, orange, pale yellow), close to the
// "magma" map that spectrogram viewers use: monotonic in brightness, so it also reads in grey.
Rgb Ramp(double t) {
  static const Rgb kStops[] = {{0, 0, 4}, {80, 18, 123}, {183, 55, 121}, {252, 137, 97}, {252, 253, 191}};
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(static_cast<int>(t), 3);
  return Lerp(kStops[i], kStops[i + 1], t - i);
}

// t in [-1, 1] -> blue, white, red.
Rgb Diverging(double t) {
  static const Rgb kBlue = {33, 102, 172}, kWhite = {247, 247, 247}, kRed = {178, 24, 43};
  t = std::clamp(t, -1.0, 1.0);
  return t < 0 ? Lerp(kWhite, kBlue, -t) : Lerp(kWhite, kRed, t);
}

template <typename ColourOf>
Image Render(int64_t frames, int64_t bins, int px_per_frame, int px_per_bin, ColourOf colour_of) {
  if (frames < 1 || bins < 1 || px_per_frame < 1 || px_per_bin < 1)
    throw Error(ErrorCode::kInvalidArgument, "spectrogram image: need frames, bins and pixel sizes >= 1");
  Image img;
  img.width = static_cast<int>(frames) * px_per_frame;
  img.height = static_cast<int>(bins) * px_per_bin;
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  for (int y = 0; y < img.height; ++y) {
    const int64_t bin = bins - 1 - y / px_per_bin;  // low bins at the bottom
    for (int x = 0; x < img.width; ++x) {
      const Rgb c = colour_of(x / px_per_frame, bin);
      uint8_t *p = &img.rgb[(static_cast<size_t>(y) * img.width + x) * 3];
      for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(std::clamp(c[k], 0.0, 255.0)));
    }
  }
  return img;
}

struct FileCloser {
  void operator()(FILE *f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

Image RenderSpectrogram(const float *values, int64_t frames, int64_t bins, double lo, double hi,
                        int px_per_frame, int px_per_bin) {
  const double span = hi > lo ? hi - lo : 1.0;
  return Render(frames, bins, px_per_frame, px_per_bin, [&](int64_t f, int64_t k) {
    const double v = values[f * bins + k];
    return Ramp(std::isfinite(v) ? (v - lo) / span : 0.0);
  });
}

Image RenderDifference(const float *a, const float *b, int64_t frames, int64_t bins, double range,
                       int px_per_frame, int px_per_bin) {
  const double r = range > 0 ? range : 1.0;
  return Render(frames, bins, px_per_frame, px_per_bin, [&](int64_t f, int64_t k) {
    const double d = static_cast<double>(a[f * bins + k]) - static_cast<double>(b[f * bins + k]);
    return Diverging(std::isfinite(d) ? d / r : 0.0);
  });
}

void WritePng(const std::string &path, const Image &image) {
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error(ErrorCode::kInvalidArgument, path + ": image has no pixels or a wrong buffer size");
  const std::string tmp = path + ".tmp";
  std::unique_ptr<FILE, FileCloser> file(std::fopen(tmp.c_str(), "wb"));
  if (!file) throw Error(ErrorCode::kIo, path + ": cannot create " + tmp);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    throw Error(ErrorCode::kIo, path + ": libpng could not start");
  }
  volatile bool ok = false;            // volatile: read after a longjmp
  if (setjmp(png_jmpbuf(png)) == 0) {  // libpng reports errors by longjmp to here
    png_init_io(png, file.get());
    png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < image.height; ++y)
      png_write_row(png, const_cast<png_bytep>(image.rgb.data() + static_cast<size_t>(y) * image.width * 3));
    png_write_end(png, nullptr);
    ok = true;
  }
  png_destroy_write_struct(&png, &info);
  const bool flushed = std::fflush(file.get()) == 0;
  file.reset();
  std::error_code ec;
  if (!ok || !flushed) {
    std::filesystem::remove(tmp, ec);
    throw Error(ErrorCode::kIo, path + ": writing the PNG failed");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(ErrorCode::kIo, path + ": cannot rename the finished PNG into place");
  }
}

}  // namespace cosyvoice::quality
