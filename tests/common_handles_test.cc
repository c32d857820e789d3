// The OS handle owners of src/common/ that have no stage test of their own:
// UniqueFile (common/unique_file.h) and UniqueDir (common/dir_list.h) close
// what they own, and close_file() reports a write that did not reach the file.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/dir_list.h"
#include "common/unique_fd.h"
#include "common/unique_file.h"

using namespace ringflow;

namespace {

// Entries of /proc/self/fd, including the one listing it.
int open_fds() {
  const UniqueDir d(opendir("/proc/self/fd"));
  REQUIRE(d);
  int n = 0;
  while (dirent* e = readdir(d.get())) n += e->d_name[0] != '.';
  return n;
}

std::string temp_path() {
  char path[] = "/tmp/rf_handles_test_XXXXXX";
  const UniqueFd fd(mkstemp(path));
  REQUIRE(fd.valid());
  return path;
}

}  // namespace

TEST_CASE("UniqueFile closes its stream when it goes out of scope") {
  const std::string path = temp_path();
  const int before = open_fds();
  {
    UniqueFile f(std::fopen(path.c_str(), "w"));
    REQUIRE(f);
    CHECK(open_fds() == before + 1);
    CHECK(std::fputs("kept", f.get()) >= 0);
  }
  CHECK(open_fds() == before);
  // The destructor's fclose flushed the buffer.
  const UniqueFile r(std::fopen(path.c_str(), "r"));
  REQUIRE(r);
  char buf[16] = {};
  CHECK(std::fread(buf, 1, sizeof buf - 1, r.get()) == 4);
  CHECK(std::string(buf) == "kept");
  std::remove(path.c_str());
}

TEST_CASE("close_file flushes, closes and empties the owner") {
  const std::string path = temp_path();
  const int before = open_fds();
  UniqueFile f(std::fopen(path.c_str(), "w"));
  REQUIRE(f);
  CHECK(std::fputs("0123456789", f.get()) >= 0);
  CHECK(close_file(f));
  CHECK_FALSE(f);
  CHECK(open_fds() == before);
  CHECK(close_file(f));  // nothing left to close
  const UniqueFile r(std::fopen(path.c_str(), "r"));
  REQUIRE(r);
  char buf[16] = {};
  CHECK(std::fread(buf, 1, sizeof buf - 1, r.get()) == 10);
  std::remove(path.c_str());
}

TEST_CASE("close_file reports data that could not be written") {
  // /dev/full accepts the buffered fputs and fails the flush with ENOSPC.
  UniqueFile f(std::fopen("/dev/full", "w"));
  REQUIRE(f);
  CHECK(std::fputs("lost", f.get()) >= 0);
  errno = 0;
  CHECK_FALSE(close_file(f));
  CHECK(errno == ENOSPC);
  CHECK_FALSE(f);
}

TEST_CASE("UniqueDir closes its directory stream") {
  const int before = open_fds();
  {
    const UniqueDir d(opendir("/proc/self"));
    REQUIRE(d);
    CHECK(open_fds() == before + 1);
  }
  CHECK(open_fds() == before);
}
