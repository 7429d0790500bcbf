// src/common/atomic_file.h - write a file so that it is either the complete new content or untouched.
//
//   AtomicFile out("dir/out.wav");     // opens a temporary file in dir/ (checks the location early)
//   out.Write(bytes, n);               // any number of times (or hand out.fd() to an encoder)
//   out.Commit();                      // fsync, then rename over dir/out.wav in one step
//   // destroyed without Commit(): the temporary file is removed, dir/out.wav keeps its old content
//
// The temporary file lives in the target's directory so the final rename(2) never crosses file
// systems and is atomic. Where the file system supports it (ext4, xfs, btrfs, tmpfs) it is an
// unnamed O_TMPFILE file, so even a SIGKILL or a power cut leaves nothing behind; elsewhere it is a
// hidden ".NAME.XXXXXX.part" file next to the target, removed on every path the process controls
// (RemoveUncommittedFiles() is for the signal-watching thread before it ends the process).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cosyvoice {

class AtomicFile {
 public:
  // Opens the temporary file for `path`. When `path` is an existing symbolic link the file it points
  // to is replaced (as writing through the link would); an existing file's permission bits are kept,
  // a new file gets 0666 minus the umask. Throws Error(kIo) naming `path` and the reason when the
  // directory is missing or not writable, or `path` is a directory or not a regular file.
  explicit AtomicFile(const std::string &path);
  ~AtomicFile();  // Discard() unless committed
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  // Appends at the current end. Throws Error(kIo) naming the path (disk full, i/o error).
  void Write(const void *data, size_t size);
  // Flushes to disk and puts the file in place under the target name. Throws Error(kIo); on a
  // failure the target keeps its previous content. Idempotent once it succeeded.
  void Commit();
  // Removes the temporary file; the target is untouched. No-op after Commit().
  void Discard() noexcept;

  // The descriptor of the temporary file (seekable; for writers that fill in headers at the end).
  int fd() const { return fd_; }
  // The file that Commit() replaces (symbolic links resolved).
  const std::string &target() const { return target_; }
  bool committed() const { return committed_; }

 private:
  std::string name_;       // as given, for messages
  std::string target_;     // what Commit() replaces
  std::string temp_path_;  // empty for an unnamed O_TMPFILE file
  int fd_ = -1;
  bool committed_ = false;
};

// Removes the named temporary files of every AtomicFile not yet committed or discarded (unnamed
// ones vanish by themselves). Thread-safe; for a thread that is about to end the process.
void RemoveUncommittedFiles() noexcept;

}  // namespace cosyvoice
