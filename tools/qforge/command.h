// Subcommand registry of the qforge CLI. Each file in commands/ registers one subcommand with
// QFORGE_COMMAND; the CLI holds argument parsing only and calls into pipeline/ for the work.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qforge::cli {

// Adds the subcommand's options to `app` and returns the function that runs it (after parsing).
// The runner returns the process exit code.
using Setup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandInfo {
  std::string name, description;
  Setup setup;
  int order;  // position in --help
};

std::vector<CommandInfo>& Registry();

struct Registrar {
  Registrar(std::string name, std::string description, int order, Setup setup) {
    Registry().push_back({std::move(name), std::move(description), std::move(setup), order});
  }
};

}  // namespace qforge::cli

#define QFORGE_COMMAND(ident, name, order, description, setup) \
  static ::qforge::cli::Registrar qforge_command_##ident(name, description, order, setup)
