// tests/fuzz/fuzz_normalizer.cc - the text frontend: the input rule (src/text/input_text.cc), text
// normalization (zh and en rule engines) and sentence splitting. The first byte picks the language;
// invalid UTF-8 is also tried repaired, so that the normalizers see every input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/log.h"
#include "fuzz_util.h"
#include "text/input_text.h"
#include "text/text_frontend.h"
#include "text/utf8_codec.h"

namespace {

const cosyvoice::TextFrontend &Frontend(int which) {
  static const cosyvoice::TextFrontend frontends[3] = {
      cosyvoice::TextFrontend({cosyvoice::TextLanguage::kAuto, true, {}}),
      cosyvoice::TextFrontend({cosyvoice::TextLanguage::kZh, true, {}}),
      cosyvoice::TextFrontend({cosyvoice::TextLanguage::kEn, true, {}})};
  return frontends[which];
}

void Run(const cosyvoice::TextFrontend &frontend, std::string_view text) {
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    for (const std::string &segment : frontend.Split(text)) {
      FUZZ_CHECK(!segment.empty());
      FUZZ_CHECK(cosyvoice::FindInvalidUtf8(segment) == std::string_view::npos);
      // the input rule held: no control character other than \t \n \r reaches the model
      for (unsigned char c : segment) FUZZ_CHECK(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
    }
  });
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    const std::string out = frontend.Normalize(text);
    FUZZ_CHECK(cosyvoice::FindInvalidUtf8(out) == std::string_view::npos);
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int * /*argc*/, char *** /*argv*/) {
  cosyvoice::SetLogLevel(cosyvoice::LogLevel::kError);  // the input rule's warnings would flood
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const cosyvoice::TextFrontend &frontend = Frontend(data[0] % 3);
  const std::string_view raw(reinterpret_cast<const char *>(data) + 1, size - 1);
  Run(frontend, raw);
  if (cosyvoice::FindInvalidUtf8(raw) != std::string_view::npos) Run(frontend, cosyvoice::Utf8Lossy(raw));
  return 0;
}
