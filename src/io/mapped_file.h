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

// Reads a whole (small) file into a string; throws qforge::Error if it cannot. `max_bytes` guards
// against reading something absurd as a config.
std::string ReadTextFile(const std::string& path, size_t max_bytes = size_t{1} << 30);

}  // namespace qforge::io
