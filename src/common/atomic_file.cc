// src/common/atomic_file.cc - see atomic_file.h.
#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

// Named temporary files not yet committed or discarded, for RemoveUncommittedFiles().
std::mutex g_registry_mutex;
std::set<std::string> &Registry() {
  static std::set<std::string> paths;
  return paths;
}
void Register(const std::string &path) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  Registry().insert(path);
}
void Unregister(const std::string &path) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  Registry().erase(path);
}

[[noreturn]] void Fail(const std::string &path, const std::string &what, int err) {
  throw Error(ErrorCode::kIo, path + ": " + what + (err ? std::string(": ") + std::strerror(err) : ""));
}

std::string DirectoryOf(const std::string &path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::string BaseName(const std::string &path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A name nobody else is using right now: pid, a counter and the clock.
std::string UniqueSuffix() {
  static std::atomic<unsigned> counter{0};
  const auto now =
      static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
  const unsigned long long mix =
      now ^ (static_cast<unsigned long long>(::getpid()) << 20) ^ (counter++ * 0x9E3779B9ull);
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  unsigned long long v = mix;
  for (int i = 0; i < 8; ++i, v /= 36) s.push_back(kAlphabet[v % 36]);
  return s;
}

std::string TempNameFor(const std::string &target) {
  return DirectoryOf(target) + "/." + BaseName(target) + "." + UniqueSuffix() + ".part";
}

std::string ProcFdPath(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

// The reason a directory cannot take a new file, for the messages.
void CheckDirectory(const std::string &path, const std::string &dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) Fail(path, "directory '" + dir + "' does not exist", 0);
    Fail(path, "cannot use directory '" + dir + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) Fail(path, "'" + dir + "' is not a directory", 0);
}

int OpenUnnamed(const std::string &dir) {
#ifdef O_TMPFILE
  // Committing links the file through /proc/self/fd, so that must be there too.
  if (::access("/proc/self/fd", X_OK) != 0) return -1;
  return ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
#else
  (void)dir;
  errno = EOPNOTSUPP;
  return -1;
#endif
}

bool UnnamedUnsupported(int err) {
  // What the kernel or the file system answers when it has no O_TMPFILE (EISDIR on old kernels
  // that ignore the flag and try to open the directory for writing).
  return err == EOPNOTSUPP || err == EISDIR || err == EINVAL || err == ENOENT;
}

}  // namespace

AtomicFile::AtomicFile(const std::string &path) : name_(path), target_(path) {
  if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "output path is empty");
  struct stat st {};
  bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists && S_ISLNK(st.st_mode)) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) != nullptr) {
      target_ = resolved;
      exists = ::stat(target_.c_str(), &st) == 0;
    } else {
      exists = false;  // a dangling link is replaced by the new file
    }
  }
  if (exists && S_ISDIR(st.st_mode)) Fail(path, "is a directory", 0);
  if (exists && !S_ISREG(st.st_mode))
    Fail(path, "is not a regular file (a pipe, socket or device cannot be replaced)", 0);

  const std::string dir = DirectoryOf(target_);
  CheckDirectory(path, dir);
  fd_ = OpenUnnamed(dir);
  if (fd_ < 0 && !UnnamedUnsupported(errno) && errno != 0)
    Fail(path, "cannot write in directory '" + dir + "'", errno);
  while (fd_ < 0) {
    temp_path_ = TempNameFor(target_);
    fd_ = ::open(temp_path_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      Register(temp_path_);
      break;
    }
    if (errno != EEXIST) Fail(path, "cannot write in directory '" + dir + "'", errno);
  }
  if (exists) ::fchmod(fd_, st.st_mode & 07777);  // best effort, as editors do
}

AtomicFile::~AtomicFile() {
  Discard();
}

void AtomicFile::Write(const void *data, size_t size) {
  if (fd_ < 0) throw Error(ErrorCode::kIo, name_ + ": write after the file was closed");
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(name_, "write failed", n < 0 ? errno : ENOSPC);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFile::Commit() {
  if (committed_) return;
  if (fd_ < 0) throw Error(ErrorCode::kIo, name_ + ": commit after the file was discarded");
  if (::fsync(fd_) != 0) Fail(name_, "cannot flush to disk", errno);
  if (temp_path_.empty()) {
    // Give the unnamed file a name next to the target, then move it into place in one rename.
    for (;;) {
      temp_path_ = TempNameFor(target_);
      if (::linkat(AT_FDCWD, ProcFdPath(fd_).c_str(), AT_FDCWD, temp_path_.c_str(), AT_SYMLINK_FOLLOW) == 0)
        break;
      const int err = errno;
      temp_path_.clear();
      if (err != EEXIST) Fail(name_, "cannot create the file", err);
    }
    Register(temp_path_);
  }
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    Discard();
    Fail(name_, "cannot replace the file", err);
  }
  Unregister(temp_path_);
  temp_path_.clear();
  committed_ = true;
  ::close(fd_);
  fd_ = -1;
  // The rename itself reaches the disk with the directory.
  const int dir_fd = ::open(DirectoryOf(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void AtomicFile::Discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_ && !temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    Unregister(temp_path_);
    temp_path_.clear();
  }
}

void RemoveUncommittedFiles() noexcept {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  for (const std::string &p : Registry()) ::unlink(p.c_str());
  Registry().clear();
}

}  // namespace cosyvoice
