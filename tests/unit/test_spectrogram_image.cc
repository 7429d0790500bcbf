// tests/unit/test_spectrogram_image.cc - report pictures: colour mapping and PNG files read back.
#include <gmock/gmock.h>
#include <png.h>

#include <cstdio>
#include <filesystem>

#include "quality/spectrogram_image.h"
#include "test_util.h"

namespace cosyvoice::quality {
namespace {

// Reads an 8-bit RGB PNG back with libpng's simplified API.
Image ReadPng(const std::string &path) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) return {};
  img.format = PNG_FORMAT_RGB;
  Image out;
  out.width = static_cast<int>(img.width);
  out.height = static_cast<int>(img.height);
  out.rgb.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.rgb.data(), 0, nullptr)) return {};
  return out;
}

int Brightness(const uint8_t *p) {
  return p[0] + p[1] + p[2];
}

TEST(SpectrogramImage, LayoutAndRamp) {
  // 3 frames x 2 bins, values rising along time; bin 1 drawn above bin 0
  const float v[] = {0, 0, 5, 5, 10, 10};
  const Image img = RenderSpectrogram(v, 3, 2, 0.0, 10.0, 2, 3);
  ASSERT_EQ(img.width, 6);
  ASSERT_EQ(img.height, 6);
  EXPECT_LT(Brightness(img.pixel(0, 5)), Brightness(img.pixel(2, 5)));
  EXPECT_LT(Brightness(img.pixel(2, 5)), Brightness(img.pixel(5, 5)));
  EXPECT_EQ(Brightness(img.pixel(0, 0)), Brightness(img.pixel(1, 5)));  // same value, same colour
  const uint8_t *black = img.pixel(0, 0);                               // lo maps to the darkest stop
  EXPECT_LE(Brightness(black), 10);
}

TEST(SpectrogramImage, DifferenceIsWhiteWhereEqualAndSignedElsewhere) {
  const float a[] = {1, 2, 3}, b[] = {1, 3, 2};  // 3 frames x 1 bin
  const Image img = RenderDifference(a, b, 3, 1, 1.0, 1, 1);
  EXPECT_EQ(img.pixel(0, 0)[0], 247);                 // equal: white
  EXPECT_GT(img.pixel(1, 0)[2], img.pixel(1, 0)[0]);  // a < b: blue
  EXPECT_GT(img.pixel(2, 0)[0], img.pixel(2, 0)[2]);  // a > b: red
}

TEST(SpectrogramImage, PngRoundTrip) {
  testing::TempDir dir;
  const float v[] = {0, 1, 2, 3, 4, 5, 6, 7};
  const Image img = RenderSpectrogram(v, 4, 2, 0.0, 7.0, 3, 2);
  const std::string path = (dir / "s.png").string();
  WritePng(path, img);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const Image back = ReadPng(path);
  ASSERT_EQ(back.width, img.width);
  ASSERT_EQ(back.height, img.height);
  EXPECT_EQ(back.rgb, img.rgb);
}

TEST(SpectrogramImage, WriteErrorsNameThePath) {
  const float v[] = {0, 1};
  const Image img = RenderSpectrogram(v, 2, 1, 0.0, 1.0);
  EXPECT_COSY_ERROR(WritePng("/nonexistent-dir/x.png", img), ErrorCode::kIo, "/nonexistent-dir/x.png");
  EXPECT_COSY_ERROR(WritePng("/tmp/empty.png", Image{}), ErrorCode::kInvalidArgument, "no pixels");
  EXPECT_COSY_ERROR(RenderSpectrogram(v, 0, 1, 0, 1), ErrorCode::kInvalidArgument, "frames");
}

}  // namespace
}  // namespace cosyvoice::quality
