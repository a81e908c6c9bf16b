#include "io/byte_sink.h"

#include <algorithm>

namespace qforge::io {

void ByteSink::WriteZeros(size_t n) {
  static const char kZeros[4096] = {};
  while (n) {
    const size_t k = std::min(n, sizeof kZeros);
    Write(kZeros, k);
    n -= k;
  }
}

void MemorySink::Write(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  bytes_.insert(bytes_.end(), p, p + n);
}

}  // namespace qforge::io
