// qforge: quantize LLM checkpoints for vLLM (compressed-tensors) and llama.cpp (GGUF), and prove how
// good they are. Exit codes: 0 success, 1 bad input (message on stderr), 2 bad usage, 3 internal error.
#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <map>

#include "command.h"
#include "core/error.h"

namespace qforge::cli {
std::vector<CommandInfo>& Registry() {
  static std::vector<CommandInfo> r;
  return r;
}
}  // namespace qforge::cli

int main(int argc, char** argv) {
  using namespace qforge::cli;
  CLI::App app{"qforge: quantize LLM checkpoints (compressed-tensors for vLLM, GGUF for llama.cpp) and "
               "measure the damage (perplexity, KL-divergence, top-1)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qforge 0.1.0");
  auto& reg = Registry();
  std::sort(reg.begin(), reg.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& c : reg) {
    CLI::App* sub = app.add_subcommand(c.name, c.description);
    runners[sub] = c.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (auto* sub : app.get_subcommands()) return runners.at(sub)();
  } catch (const qforge::Error& e) {
    fmt::print(stderr, "qforge: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "qforge: error: out of memory\n");
    return 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "qforge: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
