// Byte sinks: the one interface writers (safetensors, GGUF) write through, so a test can write to
// memory and compare bytes while the CLI writes to an atomically committed file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace qforge::io {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void Write(const void* data, size_t n) = 0;
  virtual uint64_t Position() const = 0;

  void WriteZeros(size_t n);
  template <typename T> void WritePod(const T& v) { Write(&v, sizeof(T)); }
};

class MemorySink final : public ByteSink {
 public:
  void Write(const void* data, size_t n) override;
  uint64_t Position() const override { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace qforge::io
