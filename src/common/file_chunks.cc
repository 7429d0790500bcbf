// src/common/file_chunks.cc
#include "common/file_chunks.h"

#include <fstream>
#include <vector>

#include "cosyvoice/error.h"

namespace cosyvoice {

uint64_t ReadFileInChunks(const std::filesystem::path &path,
                          const std::function<void(const char *data, size_t size)> &consume,
                          const std::atomic<bool> *stop) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path.string() + ": cannot open");
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  while (in && !(stop != nullptr && stop->load(std::memory_order_relaxed))) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n > 0) consume(buf.data(), n);
    total += n;
  }
  if (in.bad()) throw Error(ErrorCode::kIo, path.string() + ": read error");
  return total;
}

}  // namespace cosyvoice
