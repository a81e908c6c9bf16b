// Progress reporting for long work. On a terminal: one redrawn line with a bar, rate and ETA. Otherwise
// (CI logs, pipes): a plain line at most every `plain_interval` seconds and one at the end.
// Disabled entirely with QFORGE_PROGRESS=0 (tests).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace qforge {

class Progress {
 public:
  // `unit` names what is counted ("tensors", "tok", "B" for bytes: rates are then shown as MB/s).
  Progress(std::string label, uint64_t total, std::string unit, std::FILE* out = stderr);
  ~Progress();  // calls Finish() if not done

  void Add(uint64_t n) { Set(done_ + n); }
  void Set(uint64_t done);
  void SetLabel(std::string label);
  void Finish();

  // Formats "1m23s" / "12.3s".
  static std::string FormatDuration(double seconds);

 private:
  void Draw(bool final);

  std::string label_, unit_;
  uint64_t total_, done_ = 0;
  std::FILE* out_;
  bool tty_, enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  double plain_interval_ = 5.0;
};

}  // namespace qforge
