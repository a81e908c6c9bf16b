// A read-only memory-mapped file. Nothing is read eagerly: pages come in when touched, so opening a
// multi-GB checkpoint costs almost no resident memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace qforge::io {

class MappedFile {
 public:
  // Throws qforge::Error naming the path and the OS error when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// Drops this process's resident pages of [p, p + n) that lie inside a live MappedFile (whole pages only;
// memory outside every MappedFile is left alone, so this never discards data). The mapping stays valid:
// later reads fault the pages back in from the file (the page cache). Returns the bytes released. For a
// long job that has finished reading part of a large file (calibration, layer by layer), so pages it no
// longer needs stop counting in its resident memory.
size_t ReleaseMappedPages(const void* p, size_t n);
// The same for every live MappedFile of the process.
size_t ReleaseAllMappedPages();

// Reads a whole (small) file into a string; throws qforge::Error if it cannot. `max_bytes` guards
// against reading something absurd as a config.
std::string ReadTextFile(const std::string& path, size_t max_bytes = size_t{1} << 30);

}  // namespace qforge::io
