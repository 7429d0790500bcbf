// src/cli/input_files.h - the files a command reads, so that no output can replace one of them.
//
// An output is refused when it is the same file as an input by any name: the same path, a symbolic
// link to it, a path through a linked directory, or a hard link (same device and inode).
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>

namespace cosyvoice::cli {

class InputFiles {
 public:
  // `what` names the input in messages, e.g. "the prompt recording (--prompt-wav)". A path that
  // does not exist is ignored here (reading it reports that).
  void Add(const std::string &path, const std::string &what);
  // Every regular file below `dir` (the model bundle), as `what`.
  void AddTree(const std::string &dir, const std::string &what);

  // Throws Error(kInvalidArgument) when `output` (given with `flag`) is one of the inputs:
  // "-o x.wav: x.wav is the prompt recording (--prompt-wav); writing there would destroy it".
  void CheckNotInput(const std::string &output, const std::string &flag) const;
  // The same for an already open descriptor (stdout redirected to a file: `>> prompt.wav`).
  void CheckDescriptorNotInput(int fd, const std::string &what) const;

  size_t size() const { return files_.size(); }

 private:
  struct File {
    dev_t dev;
    ino_t ino;
    std::string path, what;
  };
  const File *Find(dev_t dev, ino_t ino) const;
  std::vector<File> files_;
};

}  // namespace cosyvoice::cli
