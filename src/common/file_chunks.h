// src/common/file_chunks.h - a file read once in 1 MB pieces, for the checksums (common/sha256.h,
// common/crc32c.h, engine/bundle_verifier.h, engine/optimize_bundle.cc) that each had their own
// copy of this loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>

namespace cosyvoice {

// Hands every piece of `path`, in order, to `consume(data, size)` and returns the bytes read. Stops
// early (returning the bytes read so far) once `stop` is set. Throws Error(kIo) naming the file when
// it cannot be opened or a read fails (a partial read would otherwise pass for a short file).
uint64_t ReadFileInChunks(const std::filesystem::path &path,
                          const std::function<void(const char *data, size_t size)> &consume,
                          const std::atomic<bool> *stop = nullptr);

}  // namespace cosyvoice
