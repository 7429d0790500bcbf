// tests/unit/test_npy.cc
#include <cstdint>
#include <fstream>
#include <numeric>
#include <vector>

#include "common/npy.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using testing::TempDir;

template <typename T>
void RoundTrip(const std::vector<int64_t> &shape) {
  TempDir dir;
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<T> values(static_cast<size_t>(n));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<T>((i * 7) % 13);
  SaveNpy(dir / "a.npy", shape, values.data());
  for (bool mapped : {false, true}) {
    NpyArray a = NpyArray::Load(dir / "a.npy", mapped);
    EXPECT_EQ(a.dtype(), DTypeOf<T>());
    EXPECT_EQ(a.shape(), shape);
    EXPECT_EQ(a.ToVector<T>(), values);
  }
}

TEST(Npy, RoundTripsEveryDtypeAndRank) {
  RoundTrip<float>({2, 3});
  RoundTrip<double>({5});
  RoundTrip<int32_t>({1, 2, 3, 4});
  RoundTrip<int64_t>({7});
  RoundTrip<uint8_t>({3, 1});
  RoundTrip<int8_t>({4});
  RoundTrip<float>({});       // scalar
  RoundTrip<float>({0, 80});  // empty
}

TEST(Npy, HeaderIsSixtyFourByteAligned) {
  TempDir dir;
  float v[3] = {1, 2, 3};
  SaveNpy(dir / "a.npy", {3}, v);
  EXPECT_EQ(std::filesystem::file_size(dir / "a.npy") % 64, 12u);  // 64-byte header + 12 data bytes
}

TEST(Npy, MappedArrayIsReadOnly) {
  TempDir dir;
  float v[2] = {1, 2};
  SaveNpy(dir / "a.npy", {2}, v);
  NpyArray a = NpyArray::Load(dir / "a.npy", /*memory_map=*/true);
  EXPECT_COSY_ERROR(a.mutable_raw(), ErrorCode::kInvalidArgument, "read-only");
}

TEST(Npy, TypedAccessChecksDtype) {
  NpyArray a(DType::kInt64, {3});
  EXPECT_COSY_ERROR(a.data<float>(), ErrorCode::kInvalidArgument, "holds int64, accessed as float32");
}

TEST(Npy, TruncatedFileNamesFileAndSizes) {
  TempDir dir;
  std::vector<float> v(100, 1.0f);
  SaveNpy(dir / "t.npy", {100}, v.data());
  std::filesystem::resize_file(dir / "t.npy", std::filesystem::file_size(dir / "t.npy") - 8);
  EXPECT_COSY_ERROR(NpyArray::Load(dir / "t.npy"), ErrorCode::kIo, "t.npy");
  EXPECT_COSY_ERROR(NpyArray::Load(dir / "t.npy"), ErrorCode::kIo, "expected 400 data bytes");
}

TEST(Npy, RejectsBadMagicFortranOrderAndBigEndian) {
  TempDir dir;
  { std::ofstream(dir / "magic.npy") << "not numpy at all"; }
  EXPECT_COSY_ERROR(NpyArray::Load(dir / "magic.npy"), ErrorCode::kIo, "bad magic");

  auto write_header = [&](const std::string &name, const std::string &dict, size_t data_bytes) {
    std::string header = dict;
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::ofstream out(dir / name, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char *>(len), 2);
    out << header << std::string(data_bytes, '\0');
  };
  write_header("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
  EXPECT_COSY_ERROR(NpyArray::Load(dir / "fortran.npy"), ErrorCode::kIo, "Fortran order");
  write_header("big.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
  EXPECT_COSY_ERROR(NpyArray::Load(dir / "big.npy"), ErrorCode::kIo, "big-endian");
  write_header("ok.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16);
  EXPECT_EQ(NpyArray::Load(dir / "ok.npy").shape(), std::vector<int64_t>{2});
}

TEST(Npy, MissingFileIsIoError) {
  EXPECT_COSY_ERROR(NpyArray::Load("/nonexistent/x.npy"), ErrorCode::kIo, "/nonexistent/x.npy");
}

}  // namespace
}  // namespace cosyvoice
