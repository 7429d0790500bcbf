// src/engine/bundle_verifier.cc
#include "engine/bundle_verifier.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "common/crc32c.h"
#include "common/file_chunks.h"
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

namespace {

// The graph of `graphs` that `rel` belongs to: itself, or the graph whose external data it is
// ("g.onnx.data").
const std::string *OwningGraph(const std::string &rel, const std::set<std::string> &graphs) {
  for (const std::string &g : graphs)
    if (rel == g || (rel.size() > g.size() && rel.compare(0, g.size(), g) == 0 && rel[g.size()] == '.'))
      return &g;
  return nullptr;
}

// FilesInUse with the bundle-relative path each file stands for (an optimized graph's files stand
// for the bundle graph they replace).
std::vector<std::pair<std::string, FileToVerify>> FilesInUseWithOwner(
    const BundleConfig &exported, const BundleConfig &in_use,
    const std::map<std::string, std::vector<FileToVerify>> &replaced) {
  const std::set<std::string> used = VariantSlotFiles(in_use);
  std::set<std::string> not_read;  // base files a chosen variant replaced, files of variants not chosen
  for (const std::string &rel : VariantSlotFiles(exported))
    if (!used.count(rel)) not_read.insert(rel);
  for (const auto &[family, variants] : in_use.variants)
    for (const VariantConfig &v : variants)
      for (const auto &[field, rel] : v.files)
        if (!used.count(rel)) not_read.insert(rel);
  std::set<std::string> replaced_graphs;
  for (const auto &[rel, files] : replaced) replaced_graphs.insert(rel);
  std::vector<std::pair<std::string, FileToVerify>> out;
  for (const auto &[rel, entry] : in_use.files) {
    if (OwningGraph(rel, not_read) != nullptr) continue;  // with its external data
    const std::string *graph = OwningGraph(rel, replaced_graphs);
    if (graph != nullptr && *graph != rel) continue;  // external data of a graph loaded optimized
    auto it = replaced.find(rel);
    if (it != replaced.end()) {
      for (const FileToVerify &f : it->second) out.emplace_back(rel, f);
      continue;
    }
    out.emplace_back(rel, FileToVerify{in_use.Path(rel), entry.sha256, "config.json", ""});
  }
  return out;
}

}  // namespace

std::vector<FileToVerify> FilesInUse(const BundleConfig &exported, const BundleConfig &in_use,
                                     const std::map<std::string, std::vector<FileToVerify>> &replaced) {
  std::vector<FileToVerify> out;
  for (auto &[rel, f] : FilesInUseWithOwner(exported, in_use, replaced)) out.push_back(std::move(f));
  return out;
}

std::set<std::string> DeferredGraphs(const BundleConfig &in_use) {
  std::set<std::string> out;
  for (const std::string &rel :
       {in_use.speech_tokenizer.file, in_use.campplus.file, in_use.flow.estimator_chunk.file})
    if (!rel.empty()) out.insert(rel);
  return out;
}

FilesByPart FilesInUseByPart(const BundleConfig &exported, const BundleConfig &in_use,
                             const std::map<std::string, std::vector<FileToVerify>> &replaced,
                             const std::set<std::string> &deferred_graphs) {
  FilesByPart out;
  for (auto &[rel, f] : FilesInUseWithOwner(exported, in_use, replaced)) {
    if (const std::string *graph = OwningGraph(rel, deferred_graphs)) {
      out.deferred[*graph].push_back(std::move(f));
    } else {
      out.at_load.push_back(std::move(f));
    }
  }
  return out;
}

BundleVerifier::BundleVerifier(const BundleConfig &bundle) {
  std::vector<FileToVerify> files;
  for (const auto &[rel, entry] : bundle.files)
    files.push_back({bundle.Path(rel), entry.sha256, "config.json", ""});
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
  const bool use_crc = !f.crc32c.empty();
  const char *kind = use_crc ? "crc32c" : "sha256";
  const std::string &want = use_crc ? f.crc32c : f.sha256;
  const std::string remembered = std::string(kind) + ":" + want;
  if (AlreadyVerified(path.string(), before, remembered)) return "";
  Sha256 sha;
  Crc32c crc;
  try {
    ReadFileInChunks(
        path,
        [&](const char *data, size_t size) {
          if (use_crc) {
            crc.Update(data, size);
          } else {
            sha.Update(data, size);
          }
          bytes_hashed_ += size;
        },
        &stop_);
  } catch (const Error &e) {
    return std::string(e.what()) + " (for its checksum)";
  }
  if (stop_.load()) return "";
  const std::string got = use_crc ? crc.HexValue() : sha.HexDigest();
  if (got != want) {
    return path.string() + ": " + kind + " " + got + " does not match " + f.listed_in + " (" + want +
           "): the file is damaged or was replaced";
  }
  FileStamp after;
  if (!Stamp(path, &after) || !(after == before))
    return path.string() + ": changed while its checksum was computed";
  Remember(path.string(), before, remembered);
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
