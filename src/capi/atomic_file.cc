// src/capi/atomic_file.cc
#include "capi/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <system_error>

#include "cosyvoice/error.h"

namespace cosyvoice::capi {

void WriteAtomically(const std::string &path, const std::function<void(const std::string &temp)> &write) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path target(path);
  const std::filesystem::path temp =
      target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter.fetch_add(1)));
  std::error_code ignored;
  try {
    write(temp.string());
  } catch (const Error &e) {
    std::filesystem::remove(temp, ignored);
    // The writer named the temporary file; the caller knows only `path`.
    std::string message = e.what();
    for (size_t at = message.find(temp.string()); at != std::string::npos;
         at = message.find(temp.string(), at + path.size()))
      message.replace(at, temp.string().size(), path);
    throw Error(e.code(), message);
  } catch (...) {
    std::filesystem::remove(temp, ignored);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    std::filesystem::remove(temp, ignored);
    throw Error(ErrorCode::kIo, path + ": cannot replace the file: " + ec.message());
  }
}

}  // namespace cosyvoice::capi
