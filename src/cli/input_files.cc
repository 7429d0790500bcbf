// src/cli/input_files.cc - see input_files.h.
#include "cli/input_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "cosyvoice/error.h"

namespace cosyvoice::cli {

void InputFiles::Add(const std::string &path, const std::string &what) {
  struct stat st {};
  if (path.empty() || path == "-" || ::stat(path.c_str(), &st) != 0) return;
  files_.push_back({st.st_dev, st.st_ino, path, what});
}

void InputFiles::AddTree(const std::string &dir, const std::string &what) {
  std::error_code ec;
  namespace fs = std::filesystem;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) Add(it->path().string(), what);
  }
}

const InputFiles::File *InputFiles::Find(dev_t dev, ino_t ino) const {
  for (const File &f : files_)
    if (f.dev == dev && f.ino == ino) return &f;
  return nullptr;
}

void InputFiles::CheckNotInput(const std::string &output, const std::string &flag) const {
  struct stat st {};
  if (::stat(output.c_str(), &st) != 0) return;  // a new file cannot be an input
  if (const File *f = Find(st.st_dev, st.st_ino)) {
    const std::string same = f->path == output ? "" : " (" + f->path + ")";
    throw Error(ErrorCode::kInvalidArgument,
                flag + " " + output + ": this is " + f->what + same +
                    "; writing there would destroy it, choose another output file");
  }
}

void InputFiles::CheckDescriptorNotInput(int fd, const std::string &what) const {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (const File *f = Find(st.st_dev, st.st_ino)) {
    throw Error(ErrorCode::kInvalidArgument, what + " is " + f->what + " (" + f->path +
                                                 "); writing there would destroy it, redirect it elsewhere");
  }
}

}  // namespace cosyvoice::cli
