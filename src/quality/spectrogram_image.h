// src/quality/spectrogram_image.h - spectrogram pictures for the A/B report (PNG through libpng).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cosyvoice::quality {

// An 8-bit RGB picture, rows top to bottom.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
  const uint8_t *pixel(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

// A [frames][bins] matrix of log-magnitudes drawn with time to the right and low bins at the bottom;
// values are mapped linearly from [lo, hi] onto a dark-to-bright colour ramp (clamped outside).
// Each frame takes `px_per_frame` columns and each bin `px_per_bin` rows.
Image RenderSpectrogram(const float *values, int64_t frames, int64_t bins, double lo, double hi,
                        int px_per_frame = 1, int px_per_bin = 2);

// a - b drawn with a diverging ramp: blue (b larger) - white (equal) - red (a larger), full colour at
// |a - b| >= range.
Image RenderDifference(const float *a, const float *b, int64_t frames, int64_t bins, double range,
                       int px_per_frame = 1, int px_per_bin = 2);

// Writes an 8-bit RGB PNG atomically (a temporary file beside it, then renamed). Throws Error(kIo)
// naming the path when it cannot be written.
void WritePng(const std::string &path, const Image &image);

}  // namespace cosyvoice::quality
