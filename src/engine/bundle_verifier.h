// src/engine/bundle_verifier.h - the bundle's checksums, verified while the graphs load.
//
// Damaged bundle contents must be found before audio is produced (issue 14), on a 3.5 GB bundle,
// without writing anything anywhere (so no cache file to remember earlier checks across runs).
// The design (docs/bundle.md §4.1): every file's sha256 is computed on a background thread
// started before the ONNX Runtime sessions are created - ONNX Runtime reads the same graph files
// then, so they come from the page cache once - and Model::Load waits for it before returning.
// With the SHA extensions this is ~1 GB/s, i.e. ~3.5 s of one core for the full-size release while
// its sessions take ~37 s to create on the other. Files already verified in this process with the
// same device, inode, size and mtime are not hashed again (a server loading a bundle twice).
// Only what the load reads is hashed (FilesInUse): not the files of variants not chosen, and, for a
// graph loaded from `cosyvoice optimize`'s directory, the optimized files (against its manifest)
// instead of the bundle graph, which is then never read. Large files are hashed on two threads: with
// optimized graphs the sessions take well under a second and the checksums are the load's floor.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/timer.h"
#include "engine/bundle_config.h"

namespace cosyvoice {

// One file to verify and where its expected digest comes from (for the message).
struct FileToVerify {
  std::filesystem::path path;
  std::string sha256;
  std::string listed_in;  // "config.json", or the optimized directory's manifest.json
  // When set (graphs of `cosyvoice optimize`, manifest version 3): the CRC-32C checked instead of the
  // sha256, at memory speed (common/crc32c.h says why that is enough for those files).
  std::string crc32c;
};

// The bundle files a load of `in_use` reads: every file config.json lists, except those named only by
// variants not chosen and the base files a chosen variant replaces (`exported`: the config before
// ApplyVariant). `replaced`: bundle-relative graph path -> the files loaded instead (optimized graphs).
std::vector<FileToVerify> FilesInUse(const BundleConfig &exported, const BundleConfig &in_use,
                                     const std::map<std::string, std::vector<FileToVerify>> &replaced = {});

// The graphs of `in_use` that are loaded on first use rather than by every load (bundle-relative):
// the speech tokenizer and the speaker encoder (voice preparation) and the streaming chunk graph.
std::set<std::string> DeferredGraphs(const BundleConfig &in_use);

// FilesInUse split by when they are read: `at_load` by every load; `deferred[graph]` (graph one of
// `deferred_graphs`: its own file, its external data "graph.*" and its optimized replacement) when
// that graph is first loaded. A load that never prepares a voice or streams (a saved voice, offline
// synthesis) then never hashes them: ~1 GB for the released speech tokenizer, 1.3-2.6 GB for the
// chunk graph (docs/bundle.md §4.1).
struct FilesByPart {
  std::vector<FileToVerify> at_load;
  std::map<std::string, std::vector<FileToVerify>> deferred;
};
FilesByPart FilesInUseByPart(const BundleConfig &exported, const BundleConfig &in_use,
                             const std::map<std::string, std::vector<FileToVerify>> &replaced,
                             const std::set<std::string> &deferred_graphs);

class BundleVerifier {
 public:
  // Starts hashing every file `bundle` lists; returns at once.
  explicit BundleVerifier(const BundleConfig &bundle);
  // Starts hashing `files` on up to `threads` threads (largest first); returns at once.
  BundleVerifier(std::vector<FileToVerify> files, int threads);
  // Stops the hashing early (at the next 1 MB) and joins.
  ~BundleVerifier();
  BundleVerifier(const BundleVerifier &) = delete;
  BundleVerifier &operator=(const BundleVerifier &) = delete;

  // Waits for the result; throws Error(kBundle) naming the first file whose sha256 differs from
  // config.json (or that changed or vanished while being read).
  void Wait();

  // After Wait(): bytes hashed now (files verified earlier in this process are skipped) and seconds.
  uint64_t bytes_hashed() const { return bytes_hashed_.load(); }
  double seconds() const { return seconds_; }

 private:
  void Start(std::vector<FileToVerify> files, int threads);
  void Run();
  std::string Check(const FileToVerify &f);  // "" or what is wrong with it
  std::vector<FileToVerify> files_;
  std::vector<size_t> order_;        // indices into files_, largest file first
  std::vector<std::string> errors_;  // per file, reported in list order (the same on every run)
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::string error_;
  std::atomic<uint64_t> bytes_hashed_{0};
  double seconds_ = 0;
  SteadyClock::time_point t0_;
  bool waited_ = false;
};

}  // namespace cosyvoice
