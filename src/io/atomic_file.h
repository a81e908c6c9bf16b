// Atomic outputs: a failed or interrupted run never leaves a complete-looking file or model directory.
//  * AtomicFile writes to "<path>.qforge-tmp-<pid>" and on Commit() flushes, fsyncs and renames it over
//    <path> (then fsyncs the directory). Destroyed without Commit(), it deletes the temp file.
//  * AtomicDir stages a whole output directory as "<dir>.qforge-partial-<pid>" and renames it into place
//    on Commit(); destroyed without Commit(), it removes the staging directory.
#pragma once

#include <cstdio>
#include <string>

#include "io/byte_sink.h"

namespace qforge::io {

class AtomicFile final : public ByteSink {
 public:
  explicit AtomicFile(std::string path);  // throws qforge::Error if the temp file cannot be created
  ~AtomicFile() override;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void Write(const void* data, size_t n) override;
  uint64_t Position() const override { return pos_; }
  void Commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_path_;
  std::FILE* f_ = nullptr;
  uint64_t pos_ = 0;
  bool committed_ = false;
};

// Writes `contents` to `path` atomically.
void WriteFileAtomically(const std::string& path, const std::string& contents);

class AtomicDir {
 public:
  // `overwrite`: replace an existing `dir` on Commit(); otherwise an existing `dir` is an error reported
  // before any work starts.
  AtomicDir(std::string dir, bool overwrite);
  ~AtomicDir();
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;

  // Path of a file inside the staging directory (write your files there).
  std::string Path(const std::string& name) const { return staging_ + "/" + name; }
  const std::string& staging() const { return staging_; }
  const std::string& final_dir() const { return dir_; }
  void Commit();

 private:
  std::string dir_, staging_;
  bool overwrite_, committed_ = false;
};

}  // namespace qforge::io
