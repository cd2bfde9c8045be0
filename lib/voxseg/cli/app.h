#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "voxseg/cli/context.h"
#include "voxseg/core/error.h"

namespace voxseg::cli {

/// The summary shown by --help comes from cli::commands() (commands.h), the one list of verbs.
struct AppInfo {
  std::string verb;      ///< "info" -> program voxseg-info; must be registered in commands.cpp
  std::string examples;  ///< shown after the options in --help
};

/// Parses, applies the common options, runs, and turns every error into one stderr line plus
/// DESIGN.md's exit code. The only catch-all in the code base.
int run_app(int argc, char** argv, const AppInfo& info, const std::function<void(CLI::App&)>& declare,
            const std::function<ExitCode(Context&)>& execute);

/// usage: return cli::run<Args>(argc, argv, {"info", examples}, declare, execute);
template <typename Args, typename Declare, typename Execute>
int run(int argc, char** argv, const AppInfo& info, Declare declare, Execute execute) {
  Args args;
  return run_app(
      argc, argv, info, [&](CLI::App& app) { declare(app, args); },
      [&](Context& ctx) { return execute(args, ctx); });
}

}  // namespace voxseg::cli
