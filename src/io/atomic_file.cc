#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace qforge::io {
namespace fs = std::filesystem;

namespace {
constexpr size_t kWriteBuffer = size_t{4} << 20;

void FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string ParentDir(const std::string& path) {
  auto p = fs::path(path).parent_path();
  return p.empty() ? "." : p.string();
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = path_ + ".qforge-tmp-" + std::to_string(::getpid());
  f_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!f_) Fail("{}: cannot create output file: {}", tmp_path_, std::strerror(errno));
  std::setvbuf(f_, nullptr, _IOFBF, kWriteBuffer);
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicFile::Write(const void* data, size_t n) {
  QF_CHECK_MSG(f_ && !committed_, "write after commit");
  if (n && std::fwrite(data, 1, n, f_) != n)
    Fail("{}: write failed after {} bytes: {} (disk full?)", tmp_path_, pos_, std::strerror(errno));
  pos_ += n;
}

void AtomicFile::Commit() {
  QF_CHECK(f_ && !committed_);
  if (std::fflush(f_) != 0 || ::fsync(fileno(f_)) != 0)
    Fail("{}: flush failed: {} (disk full?)", tmp_path_, std::strerror(errno));
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) Fail("{}: close failed: {}", tmp_path_, std::strerror(errno));
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    Fail("{}: cannot rename into place: {}", path_, std::strerror(errno));
  committed_ = true;
  FsyncPath(ParentDir(path_), true);
}

void WriteFileAtomically(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.Write(contents.data(), contents.size());
  f.Commit();
}

AtomicDir::AtomicDir(std::string dir, bool overwrite) : dir_(std::move(dir)), overwrite_(overwrite) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  if (!overwrite_ && fs::exists(dir_))
    Fail("{}: output directory already exists; choose another path or pass --force to replace it", dir_);
  staging_ = dir_ + ".qforge-partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(staging_, ec);
  if (!fs::create_directories(staging_, ec) || ec)
    Fail("{}: cannot create staging directory: {}", staging_, ec.message());
}

AtomicDir::~AtomicDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void AtomicDir::Commit() {
  QF_CHECK(!committed_);
  for (const auto& e : fs::directory_iterator(staging_))
    if (e.is_regular_file()) FsyncPath(e.path().string(), false);
  FsyncPath(staging_, true);
  std::error_code ec;
  std::string old;
  if (fs::exists(dir_)) {
    if (!overwrite_) Fail("{}: output directory appeared while writing; not replacing it", dir_);
    old = dir_ + ".qforge-old-" + std::to_string(::getpid());
    fs::rename(dir_, old, ec);
    if (ec) Fail("{}: cannot move the existing directory aside: {}", dir_, ec.message());
  }
  fs::rename(staging_, dir_, ec);
  if (ec) Fail("{}: cannot rename {} into place: {}", dir_, staging_, ec.message());
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
  FsyncPath(ParentDir(dir_), true);
}

}  // namespace qforge::io
