// src/engine/bundle_verifier.cc
#include "engine/bundle_verifier.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "common/log.h"
#include "common/sha256.h"
#include "common/timer.h"
#include "cosyvoice/error.h"
#include "engine/variants.h"

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

std::vector<FileToVerify> FilesInUse(const BundleConfig &exported, const BundleConfig &in_use,
                                     const std::map<std::string, std::vector<FileToVerify>> &replaced) {
  const std::set<std::string> used = VariantSlotFiles(in_use);
  std::set<std::string> not_read;  // base files a chosen variant replaced, files of variants not chosen
  for (const std::string &rel : VariantSlotFiles(exported))
    if (!used.count(rel)) not_read.insert(rel);
  for (const auto &[family, variants] : in_use.variants)
    for (const VariantConfig &v : variants)
      for (const auto &[field, rel] : v.files)
        if (!used.count(rel)) not_read.insert(rel);
  std::vector<FileToVerify> out;
  for (const auto &[rel, entry] : in_use.files) {
    if (not_read.count(rel)) continue;
    auto it = replaced.find(rel);
    if (it != replaced.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      continue;
    }
    out.push_back({in_use.Path(rel), entry.sha256, "config.json"});
  }
  return out;
}

BundleVerifier::BundleVerifier(const BundleConfig &bundle) {
  std::vector<FileToVerify> files;
  for (const auto &[rel, entry] : bundle.files)
    files.push_back({bundle.Path(rel), entry.sha256, "config.json"});
  Start(std::move(files), 1);
}

BundleVerifier::BundleVerifier(std::vector<FileToVerify> files, int threads) {
  Start(std::move(files), threads);
}

void BundleVerifier::Start(std::vector<FileToVerify> files, int threads) {
  files_ = std::move(files);
  errors_.assign(files_.size(), "");
  t0_ = SteadyClock::now();
  // Largest first, each thread taking the next: the two 1.3 GB graphs go to two threads.
  std::vector<uintmax_t> sizes(files_.size(), 0);
  for (size_t i = 0; i < files_.size(); ++i) {
    std::error_code ec;
    sizes[i] = std::filesystem::file_size(files_[i].path, ec);
    order_.push_back(i);
  }
  std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  const int n = std::max(1, std::min<int>(threads, static_cast<int>(files_.size())));
  for (int i = 0; i < n; ++i) threads_.emplace_back(&BundleVerifier::Run, this);
}

BundleVerifier::~BundleVerifier() {
  stop_.store(true);
  for (std::thread &t : threads_)
    if (t.joinable()) t.join();
}

void BundleVerifier::Run() {
  for (size_t k = next_.fetch_add(1); k < order_.size() && !stop_.load(); k = next_.fetch_add(1)) {
    const size_t i = order_[k];
    try {
      errors_[i] = Check(files_[i]);
    } catch (const std::exception &e) {
      errors_[i] = std::string("checksums: ") + e.what();
    }
  }
}

std::string BundleVerifier::Check(const FileToVerify &f) {
  const std::filesystem::path &path = f.path;
  FileStamp before;
  if (!Stamp(path, &before)) {
    return path.string() + (f.listed_in == "config.json" ? ": missing from the bundle" : ": missing") +
           " (listed in " + f.listed_in + ")";
  }
  if (AlreadyVerified(path.string(), before, f.sha256)) return "";
  std::ifstream in(path, std::ios::binary);
  if (!in) return path.string() + ": cannot open for its checksum";
  std::vector<char> buf(1 << 20);
  Sha256 sha;
  while (in && !stop_.load(std::memory_order_relaxed)) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    sha.Update(buf.data(), static_cast<size_t>(in.gcount()));
    bytes_hashed_ += static_cast<uint64_t>(in.gcount());
  }
  if (stop_.load()) return "";
  const std::string got = sha.HexDigest();
  if (got != f.sha256) {
    return path.string() + ": sha256 " + got + " does not match " + f.listed_in + " (" + f.sha256 +
           "): the file is damaged or was replaced";
  }
  FileStamp after;
  if (!Stamp(path, &after) || !(after == before))
    return path.string() + ": changed while its checksum was computed";
  Remember(path.string(), before, got);
  return "";
}

void BundleVerifier::Wait() {
  if (!waited_) {
    for (std::thread &t : threads_)
      if (t.joinable()) t.join();
    waited_ = true;
    seconds_ = SecondsSince(t0_);
    for (const std::string &e : errors_) {
      if (!e.empty()) {
        error_ = e;
        break;
      }
    }
    if (error_.empty()) {
      COSY_LOG(kDebug) << "bundle checksums verified: " << bytes_hashed_.load() / 1000000 << " MB hashed in "
                       << seconds_ << " s" << (Sha256::HardwareAvailable() ? " (SHA extensions)" : "");
    }
  }
  if (!error_.empty()) throw Error(ErrorCode::kBundle, error_);
}

}  // namespace cosyvoice
