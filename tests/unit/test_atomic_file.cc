// AtomicFile: a target is either its previous content or the complete new one, no temporary file is
// left behind on any path the process controls, and the location is checked when the file opens.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/atomic_file.h"
#include "cosyvoice/error.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string Read(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Put(const fs::path &p, const std::string &s) {
  std::ofstream(p, std::ios::binary) << s;
}

size_t Entries(const fs::path &dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto &e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, NothingAppearsBeforeCommitThenTheWholeFile) {
  TempDir dir;
  const fs::path target = dir / "out.bin";
  {
    AtomicFile f(target.string());
    f.Write("hello ", 6);
    EXPECT_FALSE(fs::exists(target));
    f.Write("world", 5);
    f.Commit();
    EXPECT_TRUE(f.committed());
  }
  EXPECT_EQ(Read(target), "hello world");
  EXPECT_EQ(Entries(dir.path()), 1u) << "no temporary file left";
}

TEST(AtomicFile, WithoutCommitThePreviousFileIsUntouched) {
  TempDir dir;
  const fs::path target = dir / "out.bin";
  Put(target, "previous");
  {
    AtomicFile f(target.string());
    f.Write("partial new content", 19);
  }  // destroyed: e.g. an error or Ctrl-C unwound the command
  EXPECT_EQ(Read(target), "previous");
  EXPECT_EQ(Entries(dir.path()), 1u);
}

TEST(AtomicFile, ReplacesAndKeepsThePermissionBits) {
  TempDir dir;
  const fs::path target = dir / "out.bin";
  Put(target, "old");
  ::chmod(target.c_str(), 0640);
  AtomicFile f(target.string());
  f.Write("new", 3);
  f.Commit();
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(Read(target), "new");
}

TEST(AtomicFile, WritesThroughASymbolicLinkToItsTarget) {
  TempDir dir;
  fs::create_directory(dir / "real");
  Put(dir / "real" / "a.bin", "old");
  fs::create_symlink(dir / "real" / "a.bin", dir / "link.bin");
  AtomicFile f((dir / "link.bin").string());
  f.Write("new", 3);
  f.Commit();
  EXPECT_TRUE(fs::is_symlink(dir / "link.bin")) << "the link stays a link";
  EXPECT_EQ(Read(dir / "real" / "a.bin"), "new");
}

TEST(AtomicFile, RefusesAMissingDirectoryADirectoryAndADeviceAtOpen) {
  TempDir dir;
  try {
    AtomicFile f((dir / "no" / "such" / "out.wav").string());
    FAIL() << "opened a file in a missing directory";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  try {
    AtomicFile f(dir.path().string());
    FAIL() << "opened a directory";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  try {
    AtomicFile f("/dev/null");
    FAIL() << "would have replaced /dev/null";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Entries(dir.path()), 0u);
}

TEST(AtomicFile, DescriptorIsSeekableForHeadersWrittenLast) {
  TempDir dir;
  const fs::path target = dir / "h.bin";
  AtomicFile f(target.string());
  f.Write("....payload", 11);
  ASSERT_EQ(::pwrite(f.fd(), "HEAD", 4, 0), 4);
  f.Commit();
  EXPECT_EQ(Read(target), "HEADpayload");
}

TEST(AtomicFile, RemoveUncommittedFilesLeavesNothing) {
  TempDir dir;
  AtomicFile f((dir / "x.bin").string());
  f.Write("data", 4);
  RemoveUncommittedFiles();  // what the signal watcher does before ending the process
  EXPECT_EQ(Entries(dir.path()), 0u);
}

}  // namespace
}  // namespace cosyvoice
