#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/cli/context.h"
#include "voxseg/core/error.h"
#include "voxseg/core/json.h"

namespace voxseg::cli {

/// One case of a batch: its name, its result object and its outputs.
class Case {
 public:
  Case(const Context& ctx, std::string name, std::string input);
  const std::string& name() const { return name_; }
  const std::string& input() const { return input_; }
  /// dir/<name><ext>; nullopt (case counted "skipped (exists)") when it exists and --force is off.
  std::optional<std::filesystem::path> claim_output(const std::filesystem::path& dir, const std::string& ext);
  /// Same, for an exact path.
  std::optional<std::filesystem::path> claim_output_path(const std::filesystem::path& path);
  Case& report(const std::string& key, Json value);
  Json& result() { return result_; }
  Progress progress(const std::string& label) const { return ctx_.progress(name_ + ": " + label); }
  bool skipped() const { return skipped_; }
  /// Human summary printed after the case (unless --json).
  void set_summary(std::string text) { summary_ = std::move(text); }
  const std::string& summary() const { return summary_; }

 private:
  const Context& ctx_;
  std::string name_, input_, summary_;
  Json result_ = Json::object();
  bool skipped_ = false;
};

/// Runs cases one by one; a failed case is reported and the rest continue.
class Batch {
 public:
  explicit Batch(const Context& ctx) : ctx_(ctx) {}
  void run(const std::string& name, const std::string& input, const std::function<void(Case&)>& fn);
  /// Logs the tally. Ok when nothing failed; with a single case its own exit code; else PartialBatch.
  ExitCode finish();
  int done() const { return done_; }
  int skipped() const { return skipped_; }
  int failed() const { return int(failures_.size()); }

 private:
  const Context& ctx_;
  int done_ = 0, skipped_ = 0, total_ = 0;
  std::vector<std::pair<std::string, ExitCode>> failures_;
};

}  // namespace voxseg::cli
