// tests/unit/test_npy.cc
#include <cmath>
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

std::string NpyBytes(const std::string &dict, const std::string &data) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + data;
}

// Found by fuzzing: a shape whose element count overflows int64 wrapped around to the file's
// size (undefined behaviour, then a huge or negative allocation).
TEST(Npy, ShapesWhoseSizeOverflowsAreRefused) {
  const std::string big =
      NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", "");
  EXPECT_COSY_ERROR(
      NpyArray::FromBytes(big.data(), big.size(), "big.npy"), ErrorCode::kIo,
      "big.npy: not a readable .npy file: shape [1099511627776, 1099511627776] has more elements");
  const std::string neg = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "");
  EXPECT_COSY_ERROR(NpyArray::FromBytes(neg.data(), neg.size(), "neg.npy"), ErrorCode::kIo, "bad shape");
  const std::string open = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, ", "");
  EXPECT_COSY_ERROR(NpyArray::FromBytes(open.data(), open.size(), "open.npy"), ErrorCode::kIo, "unclosed");
  const std::string descr = NpyBytes("{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", "abcd");
  EXPECT_COSY_ERROR(NpyArray::FromBytes(descr.data(), descr.size(), "d.npy"), ErrorCode::kIo, "bad descr");
}

TEST(Npy, FromBytesReadsWhatLoadReads) {
  const float v[2] = {1.5f, -2.0f};
  const std::string bytes = NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                     std::string(reinterpret_cast<const char *>(v), sizeof(v)));
  const NpyArray a = NpyArray::FromBytes(bytes.data(), bytes.size(), "x.npy");
  EXPECT_EQ(a.ToVector<float>(), (std::vector<float>{1.5f, -2.0f}));
}

// A bundle's noise file full of NaN has the right size and shape, and gave an all-zero WAV (issue 14).
TEST(Npy, NonFiniteValuesAreFoundInEveryFloatType) {
  NpyArray f(DType::kFloat32, {2, 3});
  EXPECT_EQ(FindNonFinite(f), kAllFinite);
  f.mutable_data<float>()[4] = std::nanf("");
  EXPECT_EQ(FindNonFinite(f), 4u);
  EXPECT_COSY_ERROR(CheckAllFinite(f, "flow/flow_noise.npy", ErrorCode::kBundle), ErrorCode::kBundle,
                    "flow/flow_noise.npy: element 4 of [2, 3] float32 is not a finite number");
  NpyArray d(DType::kFloat64, {3});
  d.mutable_data<double>()[2] = -HUGE_VAL;
  EXPECT_EQ(FindNonFinite(d), 2u);
  NpyArray h(DType::kFloat16, {2});
  static_cast<uint16_t *>(h.mutable_raw())[1] = 0x7E00;  // a half NaN
  EXPECT_EQ(FindNonFinite(h), 1u);
  static_cast<uint16_t *>(h.mutable_raw())[1] = 0x3C00;  // 1.0
  EXPECT_EQ(FindNonFinite(h), kAllFinite);
  NpyArray i(DType::kInt32, {4});
  EXPECT_NO_THROW(CheckAllFinite(i, "ids.npy", ErrorCode::kBundle));
}

}  // namespace
}  // namespace cosyvoice
