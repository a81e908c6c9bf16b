#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace qforge::io {
namespace {

// Live mappings (start address -> size), so ReleaseMappedPages only ever touches file-backed pages.
struct Registry {
  std::mutex mu;
  std::map<uintptr_t, size_t> maps;
};
Registry& Mappings() {
  static Registry* r = new Registry();  // never destroyed: MappedFiles may outlive static destruction order
  return *r;
}

size_t PageSize() {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

// madvise(MADV_DONTNEED) on the whole pages inside [b, e); the caller holds the registry lock.
size_t DropPages(uintptr_t b, uintptr_t e) {
  const uintptr_t page = PageSize();
  const uintptr_t lo = (b + page - 1) / page * page, hi = e / page * page;
  if (hi <= lo) return 0;
  if (::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED) != 0) return 0;
  return hi - lo;
}

}  // namespace

size_t ReleaseMappedPages(const void* p, size_t n) {
  if (p == nullptr || n == 0) return 0;
  const uintptr_t b = reinterpret_cast<uintptr_t>(p), e = b + n;
  Registry& r = Mappings();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.maps.upper_bound(b);
  if (it == r.maps.begin()) return 0;
  --it;
  if (e > it->first + it->second || e < b) return 0;  // not (entirely) inside one mapping
  return DropPages(b, e);
}

size_t ReleaseAllMappedPages() {
  Registry& r = Mappings();
  std::lock_guard<std::mutex> lock(r.mu);
  size_t n = 0;
  for (const auto& [start, size] : r.maps) n += DropPages(start, start + size);
  return n;
}

std::shared_ptr<const MappedFile> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    Fail("{}: cannot stat: {}", path, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    Fail("{}: not a regular file", path);
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      Fail("{}: cannot mmap {} bytes: {}", path, f->size_, std::strerror(e));
    }
    f->data_ = static_cast<const std::byte*>(p);
    Registry& r = Mappings();
    std::lock_guard<std::mutex> lock(r.mu);
    r.maps[reinterpret_cast<uintptr_t>(p)] = f->size_;
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) {
    Registry& r = Mappings();
    std::lock_guard<std::mutex> lock(r.mu);
    r.maps.erase(reinterpret_cast<uintptr_t>(data_));
    ::munmap(const_cast<std::byte*>(data_), size_);
  }
}

std::string ReadTextFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("{}: cannot open: {}", path, std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  if (size > max_bytes) Fail("{}: file is {} bytes, more than the {} allowed for this kind of file", path, size, max_bytes);
  in.seekg(0);
  std::string s(size, '\0');
  in.read(s.data(), static_cast<std::streamsize>(size));
  if (!in) Fail("{}: read failed", path);
  return s;
}

}  // namespace qforge::io
