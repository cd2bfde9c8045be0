#pragma once
#include <memory>
#include <string>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"

namespace voxseg::cli {

/// Options every program has (docs/cli-conventions.md).
struct CommonOptions {
  int verbosity = 0;  ///< -v count
  bool quiet = false;
  bool json = false;
  bool force = false;
  int threads = 0;  ///< 0 = available cores
  std::string command_line;
};

/// What an app's execute() gets: the common options, a progress factory and result printing.
class Context {
 public:
  Context(std::string verb, CommonOptions common);
  const std::string& verb() const { return verb_; }
  const CommonOptions& common() const { return common_; }
  bool force() const { return common_.force; }
  bool json() const { return common_.json; }
  /// A progress handle drawn on stderr when it is a terminal (or as milestone lines at -v).
  Progress progress(const std::string& label) const;
  /// Prints one result: with --json, the object on one stdout line; otherwise `human` (if not empty).
  void print_result(const Json& result, const std::string& human) const;
  /// Provenance every result carries: program, version, command line.
  Json provenance() const;

 private:
  std::string verb_;
  CommonOptions common_;
};

}  // namespace voxseg::cli
