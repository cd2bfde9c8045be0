#include "voxseg/cli/batch.h"

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/log.h"

namespace fs = std::filesystem;

namespace voxseg::cli {

Case::Case(const Context& ctx, std::string name, std::string input)
    : ctx_(ctx), name_(std::move(name)), input_(std::move(input)) {
  result_["case"] = name_;
  result_["input"] = input_;
}

std::optional<fs::path> Case::claim_output(const fs::path& dir, const std::string& ext) {
  return claim_output_path(dir / (name_ + ext));
}

std::optional<fs::path> Case::claim_output_path(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !ctx_.force()) {
    skipped_ = true;
    log::info("{}: skipped, '{}' exists (use --force to redo)", name_, path.string());
    return std::nullopt;
  }
  check_output_path(path, true);  // the folder must exist
  return path;
}

Case& Case::report(const std::string& key, Json value) {
  result_[key] = std::move(value);
  return *this;
}

void Batch::run(const std::string& name, const std::string& input, const std::function<void(Case&)>& fn) {
  ++total_;
  Case c(ctx_, name, input);
  try {
    fn(c);
    if (c.skipped()) {
      ++skipped_;
      c.report("status", "skipped");
    } else {
      ++done_;
      c.report("status", "ok");
    }
    ctx_.print_result(c.result(), c.summary());
  } catch (const Error& e) {
    log::error("{}", e.what());
    failures_.emplace_back(name, e.code());
    c.report("status", "failed").report("exit_code", static_cast<int>(e.code())).report("error", e.what());
    if (ctx_.json()) ctx_.print_result(c.result(), "");
  } catch (const std::exception& e) {
    const std::string what = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    log::error("{}: internal error: {} (please report)", name, what);
    failures_.emplace_back(name, ExitCode::Internal);
    c.report("status", "failed").report("exit_code", 1).report("error", what);
    if (ctx_.json()) ctx_.print_result(c.result(), "");
  }
}

ExitCode Batch::finish() {
  if (total_ > 1 || skipped_ > 0)
    log::info("{} case(s): {} done, {} skipped (exists), {} failed", total_, done_, skipped_, failures_.size());
  if (failures_.empty()) return ExitCode::Ok;
  if (total_ == 1) return failures_.front().second;
  log::warn("{} of {} case(s) failed: {}{}", failures_.size(), total_, failures_.front().first,
            failures_.size() > 1 ? ", ..." : "");
  return ExitCode::PartialBatch;
}

}  // namespace voxseg::cli
