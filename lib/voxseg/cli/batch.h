#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
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
  /// `claimed`: the batch's outputs so far (path -> case), so that two cases never share one.
  Case(const Context& ctx, std::string name, std::string input, std::string progress_prefix = "",
       std::map<std::filesystem::path, std::string>* claimed = nullptr);
  const std::string& name() const { return name_; }
  const std::string& input() const { return input_; }
  /// dir/<name><ext> (a name with '/' from --names path gets its sub-folder created); nullopt (case
  /// counted "skipped (exists)") when it exists and --force is off. The case's main output is its
  /// "done" marker: write it last, and redo everything else of a case whose marker is missing.
  std::optional<std::filesystem::path> claim_output(const std::filesystem::path& dir, const std::string& ext);
  /// Same, for an exact path (its folder must exist). Throws Error(Usage) when another case of this
  /// batch claimed the same path (a name collision that slipped past the listing).
  std::optional<std::filesystem::path> claim_output_path(const std::filesystem::path& path);
  Case& report(const std::string& key, Json value);
  Json& result() { return result_; }
  /// A progress handle for this case; on a terminal its bar shows "case i/N", elapsed time and ETA.
  Progress progress(const std::string& label) const { return ctx_.progress(prefix_ + name_ + ": " + label); }
  bool skipped() const { return skipped_; }
  /// Human summary printed after the case (unless --json).
  void set_summary(std::string text) { summary_ = std::move(text); }
  const std::string& summary() const { return summary_; }

 private:
  const Context& ctx_;
  std::string name_, input_, summary_, prefix_;
  std::map<std::filesystem::path, std::string>* claimed_;
  Json result_ = Json::object();
  bool skipped_ = false;
};

/// Runs cases one by one; a failed case is reported (an error line; with --json a
/// {"status": "failed", "error": ...} line) and the rest continue. With more than one case it prints,
/// at the default verbosity, one line per finished case on stderr ("case i/N NAME: ok in 4.2 s,
/// elapsed 0:12, ETA 0:28") and a final "N done, M skipped, K failed" line.
class Batch {
 public:
  /// `expected`: the number of cases that will be run (for "case i/N" and the ETA); 0 if unknown.
  explicit Batch(const Context& ctx, size_t expected = 0);
  /// Runs fn for one case. A non-empty `listing_error` (io::CaseInput::error: the input is missing)
  /// fails the case with exit code 3 without calling fn.
  void run(const std::string& name, const std::string& input, const std::function<void(Case&)>& fn,
           const std::string& listing_error = "");
  /// Prints the tally. Ok when nothing failed; with a single case its own exit code; else PartialBatch.
  ExitCode finish();
  int done() const { return done_; }
  int skipped() const { return skipped_; }
  int failed() const { return int(failures_.size()); }
  /// The failed cases so far, in order: [{"case": name, "error": message}] (the message as reported).
  Json failures_json() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::string progress_prefix() const;
  void case_finished(const std::string& name, const char* status, double seconds);

  const Context& ctx_;
  size_t expected_;
  int done_ = 0, skipped_ = 0, total_ = 0, worked_ = 0;  // worked: cases that did work (not skipped)
  double worked_seconds_ = 0;
  Clock::time_point start_ = Clock::now();
  struct Failure {
    std::string name;
    ExitCode code;
    std::string error;
  };
  std::vector<Failure> failures_;
  std::map<std::filesystem::path, std::string> claimed_;
};

/// "4.2 s", "3:07", "1:02:03": durations in batch progress lines.
std::string format_duration(double seconds);

}  // namespace voxseg::cli
