// tests/fuzz/fuzz_npy.cc - the .npy reader (src/common/npy.cc) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "common/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cosyvoice::fuzz::ExpectOnlyCosyErrors([&] {
    const cosyvoice::NpyArray a = cosyvoice::NpyArray::FromBytes(data, size, "fuzz.npy");
    // what the header promises holds: the data is exactly the shape's bytes
    FUZZ_CHECK(a.num_elements() >= 0);
    FUZZ_CHECK(a.num_bytes() <= size);
    const size_t bad = cosyvoice::FindNonFinite(a);
    FUZZ_CHECK(bad == cosyvoice::kAllFinite || bad < static_cast<size_t>(a.num_elements()));
  });
  return 0;
}
