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
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "engine/bundle_config.h"

namespace cosyvoice {

class BundleVerifier {
 public:
  // Starts hashing every file `bundle` lists; returns at once.
  explicit BundleVerifier(const BundleConfig &bundle);
  // Stops the hashing early (at the next 1 MB) and joins.
  ~BundleVerifier();
  BundleVerifier(const BundleVerifier &) = delete;
  BundleVerifier &operator=(const BundleVerifier &) = delete;

  // Waits for the result; throws Error(kBundle) naming the first file whose sha256 differs from
  // config.json (or that changed or vanished while being read).
  void Wait();

  // After Wait(): bytes hashed now (files verified earlier in this process are skipped) and seconds.
  uint64_t bytes_hashed() const { return bytes_hashed_; }
  double seconds() const { return seconds_; }

 private:
  void Run(BundleConfig bundle);
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::string error_;
  uint64_t bytes_hashed_ = 0;
  double seconds_ = 0;
  bool waited_ = false;
};

}  // namespace cosyvoice
