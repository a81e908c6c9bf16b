#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace qforge {

Progress::Progress(std::string label, uint64_t total, std::string unit, std::FILE* out)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), out_(out) {
  tty_ = isatty(fileno(out_)) != 0;
  const char* env = std::getenv("QFORGE_PROGRESS");
  enabled_ = !(env && std::strcmp(env, "0") == 0);
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { Finish(); }

std::string Progress::FormatDuration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto total = static_cast<long>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

void Progress::SetLabel(std::string label) { label_ = std::move(label); }

void Progress::Set(uint64_t done) {
  done_ = std::min(done, total_ ? total_ : done);
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.1 : plain_interval_)) {
    last_draw_ = now;
    Draw(false);
  }
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) Draw(true);
}

void Progress::Draw(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const bool bytes = unit_ == "B";
  const std::string rate_s =
      bytes ? fmt::format("{:.1f} MB/s", rate / 1e6) : fmt::format("{:.1f} {}/s", rate, unit_);
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  std::string eta = "--";
  if (final)
    eta = FormatDuration(elapsed);
  else if (rate > 0 && total_ >= done_)
    eta = FormatDuration(static_cast<double>(total_ - done_) / rate);
  const std::string count = bytes ? fmt::format("{:.1f}/{:.1f} MB", done_ / 1e6, total_ / 1e6)
                                  : fmt::format("{}/{} {}", done_, total_, unit_);
  if (tty_) {
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(kWidth, '.');
    fmt::print(out_, "\r\033[K{} [{}] {:3.0f}% {} {} {} {}", label_, bar, frac * 100, count, rate_s,
               final ? "in" : "ETA", eta);
    if (final) fmt::print(out_, "\n");
  } else {
    fmt::print(out_, "{}: {:.0f}% {} {} {} {}\n", label_, frac * 100, count, rate_s, final ? "in" : "ETA",
               eta);
  }
  std::fflush(out_);
}

}  // namespace qforge
