// src/cli/text_input.cc - see text_input.h.
#include "cli/text_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cosyvoice/error.h"

namespace cosyvoice::cli {
namespace {

[[noreturn]] void Fail(const std::string &name, int err) {
  if (err == ENOENT) throw Error(ErrorCode::kIo, name + ": no such file");
  throw Error(ErrorCode::kIo, name + ": cannot read the text: " + std::strerror(err));
}

}  // namespace

std::string ReadTextInput(const std::string &path) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? "stdin" : path;
  int fd = STDIN_FILENO;
  if (!is_stdin) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail(name, errno);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw Error(ErrorCode::kIo, name + ": is a directory, not a text file");
    }
  }
  std::string text;
  char buf[65536];
  int err = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxTextBytes) break;  // stop reading: it is refused anyway
  }
  if (!is_stdin) ::close(fd);
  if (err != 0) Fail(name, err);
  if (text.size() > kMaxTextBytes) {
    throw Error(ErrorCode::kInvalidArgument, name + ": the text is longer than " +
                                                 std::to_string(kMaxTextBytes) +
                                                 " bytes, the limit of one request (about an hour of "
                                                 "speech); split it into several runs");
  }
  return text;
}

bool StdinIsTerminal() {
  return ::isatty(STDIN_FILENO) != 0;
}

}  // namespace cosyvoice::cli
