// `qforge version`: build facts a bug report needs.
#include <fmt/format.h>

#include "command.h"
#include "core/thread_pool.h"

namespace qforge::cli {
namespace {

std::function<int()> SetupVersion(CLI::App& app) {
  return [] {
    fmt::print("qforge 0.1.0\ncompiler: g++ {}\nthreads: {}\n", __VERSION__, ThreadPool::Global().num_threads());
    return 0;
  };
}

}  // namespace
QFORGE_COMMAND(version, "version", 100, "Print version and build information", SetupVersion);
}  // namespace qforge::cli
