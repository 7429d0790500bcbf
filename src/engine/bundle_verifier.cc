// src/engine/bundle_verifier.cc
#include "engine/bundle_verifier.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include "common/log.h"
#include "common/sha256.h"
#include "common/timer.h"
#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

// What identifies an unchanged file: a rewrite changes mtime (or the inode, for a rename over it).
struct FileStamp {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp &o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
};

bool Stamp(const std::filesystem::path &path, FileStamp *out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  out->device = static_cast<uint64_t>(st.st_dev);
  out->inode = static_cast<uint64_t>(st.st_ino);
  out->size = static_cast<uint64_t>(st.st_size);
  out->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

// Files whose sha256 this process has verified: path -> (stamp, digest). Only in memory: writing it
// anywhere would break "nothing written but the outputs".
std::mutex g_verified_mutex;
std::map<std::string, std::pair<FileStamp, std::string>> &Verified() {
  static std::map<std::string, std::pair<FileStamp, std::string>> verified;
  return verified;
}

bool AlreadyVerified(const std::string &path, const FileStamp &stamp, const std::string &sha) {
  std::lock_guard<std::mutex> lock(g_verified_mutex);
  auto it = Verified().find(path);
  return it != Verified().end() && it->second.first == stamp && it->second.second == sha;
}

void Remember(const std::string &path, const FileStamp &stamp, const std::string &sha) {
  std::lock_guard<std::mutex> lock(g_verified_mutex);
  Verified()[path] = {stamp, sha};
}

}  // namespace

BundleVerifier::BundleVerifier(const BundleConfig &bundle) {
  thread_ = std::thread(&BundleVerifier::Run, this, bundle);
}

BundleVerifier::~BundleVerifier() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void BundleVerifier::Run(BundleConfig bundle) {
  const auto t0 = SteadyClock::now();
  std::vector<char> buf(1 << 20);
  try {
    for (const auto &[rel, entry] : bundle.files) {
      const std::filesystem::path path = bundle.Path(rel);
      FileStamp before;
      if (!Stamp(path, &before)) {
        error_ = path.string() + ": missing from the bundle (listed in config.json)";
        return;
      }
      if (AlreadyVerified(path.string(), before, entry.sha256)) continue;
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        error_ = path.string() + ": cannot open for its checksum";
        return;
      }
      Sha256 sha;
      while (in && !stop_.load(std::memory_order_relaxed)) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        sha.Update(buf.data(), static_cast<size_t>(in.gcount()));
        bytes_hashed_ += static_cast<uint64_t>(in.gcount());
      }
      if (stop_.load()) return;
      const std::string got = sha.HexDigest();
      FileStamp after;
      if (got != entry.sha256) {
        error_ = path.string() + ": sha256 " + got + " does not match config.json (" + entry.sha256 +
                 "): the file is damaged or was replaced";
        return;
      }
      if (!Stamp(path, &after) || !(after == before)) {
        error_ = path.string() + ": changed while its checksum was computed";
        return;
      }
      Remember(path.string(), before, got);
    }
  } catch (const std::exception &e) {
    error_ = std::string("checksums: ") + e.what();
  }
  seconds_ = SecondsSince(t0);
}

void BundleVerifier::Wait() {
  if (!waited_) {
    if (thread_.joinable()) thread_.join();
    waited_ = true;
    if (error_.empty()) {
      COSY_LOG(kDebug) << "bundle checksums verified: " << bytes_hashed_ / 1000000 << " MB hashed in "
                       << seconds_ << " s" << (Sha256::HardwareAvailable() ? " (SHA extensions)" : "");
    }
  }
  if (!error_.empty()) throw Error(ErrorCode::kBundle, error_);
}

}  // namespace cosyvoice
