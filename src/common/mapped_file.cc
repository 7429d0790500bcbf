// src/common/mapped_file.cc
#include "common/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "cosyvoice/error.h"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define COSYVOICE_HAVE_MMAP 1
#endif

namespace cosyvoice {

MappedFile::MappedFile(const std::filesystem::path &path) {
#ifdef COSYVOICE_HAVE_MMAP
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorCode::kIo, path.string() + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(ErrorCode::kIo, path.string() + ": cannot stat: " + std::strerror(err));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void *p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kIo, path.string() + ": cannot map: " + std::strerror(err));
    }
    data_ = static_cast<const unsigned char *>(p);
    mapped_ = true;
  }
  ::close(fd);  // the mapping stays valid
#else
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path.string() + ": cannot open");
  buffer_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  data_ = buffer_.data();
  size_ = buffer_.size();
#endif
}

MappedFile::~MappedFile() {
  Release();
}

MappedFile::MappedFile(MappedFile &&other) noexcept {
  *this = std::move(other);
}

MappedFile &MappedFile::operator=(MappedFile &&other) noexcept {
  if (this != &other) {
    Release();
    mapped_ = other.mapped_;
    size_ = other.size_;
    buffer_ = std::move(other.buffer_);
    data_ = mapped_ ? other.data_ : buffer_.data();
    other.data_ = nullptr;
    other.size_ = 0;
    other.mapped_ = false;
  }
  return *this;
}

void MappedFile::Release() noexcept {
#ifdef COSYVOICE_HAVE_MMAP
  if (mapped_ && data_ != nullptr) ::munmap(const_cast<unsigned char *>(data_), size_);
#endif
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
  buffer_.clear();
}

}  // namespace cosyvoice
