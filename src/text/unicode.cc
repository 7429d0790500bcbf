// src/text/unicode.cc
#include "text/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>

#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

const icu::Normalizer2 &Nfc() {
  static const icu::Normalizer2 *nfc = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2 *n = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status) || n == nullptr)
      throw Error(ErrorCode::kRuntime, std::string("ICU: cannot load NFC data: ") + u_errorName(status));
    return n;
  }();
  return *nfc;
}

bool AllAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

bool IsNfc(std::string_view utf8) {
  if (AllAscii(utf8)) return true;
  UErrorCode status = U_ZERO_ERROR;
  const bool yes =
      Nfc().isNormalizedUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())), status);
  return yes && U_SUCCESS(status);
}

std::string NfcNormalize(std::string_view utf8) {
  if (IsNfc(utf8)) return std::string(utf8);
  const icu::Normalizer2 &nfc = Nfc();
  const icu::StringPiece piece(utf8.data(), static_cast<int32_t>(utf8.size()));
  UErrorCode status = U_ZERO_ERROR;
  std::string out;
  out.reserve(utf8.size());
  icu::StringByteSink<std::string> sink(&out);
  nfc.normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_FAILURE(status))
    throw Error(ErrorCode::kInvalidArgument,
                std::string("text: NFC normalization failed: ") + u_errorName(status));
  return out;
}

bool IsLetter(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0;
}

bool IsNumber(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

bool IsWhiteSpace(char32_t c) {
  return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0;
}

bool IsWordChar(char32_t c) {
  const auto u = static_cast<UChar32>(c);
  return u_hasBinaryProperty(u, UCHAR_ALPHABETIC) ||
         (U_GET_GC_MASK(u) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL);
}

}  // namespace cosyvoice
