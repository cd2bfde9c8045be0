#include "voxseg/cli/batch.h"

#include <unistd.h>

#include <cmath>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/log.h"

namespace fs = std::filesystem;

namespace voxseg::cli {

std::string format_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const long s = std::lround(seconds);
  if (s < 3600) return fmt::format("{}:{:02d}", s / 60, s % 60);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
}

Case::Case(const Context& ctx, std::string name, std::string input, std::string progress_prefix,
           std::map<fs::path, std::string>* claimed)
    : ctx_(ctx), name_(std::move(name)), input_(std::move(input)), prefix_(std::move(progress_prefix)),
      claimed_(claimed) {
  result_["case"] = name_;
  result_["input"] = input_;
}

std::optional<fs::path> Case::claim_output(const fs::path& dir, const std::string& ext) {
  const fs::path path = dir / (name_ + ext);
  if (path.parent_path() != dir) {  // --names path: "p1/ct" -> dir/p1/
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) fail(ExitCode::CannotWrite, "cannot create folder '{}': {}", path.parent_path().string(), ec.message());
  }
  return claim_output_path(path);
}

std::optional<fs::path> Case::claim_output_path(const fs::path& path) {
  if (claimed_) {
    std::error_code ec;
    fs::path key = fs::absolute(path, ec).lexically_normal();
    const auto [it, inserted] = claimed_->emplace(key, name_);
    if (!inserted)
      fail(ExitCode::Usage, "output '{}' of case '{}' is also the output of case '{}' in this batch; use --names path",
           path.string(), name_, it->second);
  }
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

Batch::Batch(const Context& ctx, size_t expected) : ctx_(ctx), expected_(expected) {}

std::string Batch::progress_prefix() const {
  if (expected_ <= 1) return "";
  std::string prefix = fmt::format("case {}/{} ({}", total_, expected_,
                                   format_duration(std::chrono::duration<double>(Clock::now() - start_).count()));
  const size_t left = expected_ > size_t(total_) ? expected_ - size_t(total_) + 1 : 1;
  if (worked_ > 0) prefix += ", ETA " + format_duration(worked_seconds_ / worked_ * double(left));
  return prefix + ") ";
}

void Batch::case_finished(const std::string& name, const char* status, double seconds) {
  // Lines only for batches that announced their size (long runs), and only off a terminal: there
  // the progress bar shows "case i/N" instead.
  if (expected_ <= 1 || ctx_.common().quiet || isatty(STDERR_FILENO)) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string line = fmt::format("case {}/{} {}: {} in {}, elapsed {}", total_, expected_, name, status,
                                 format_duration(seconds), format_duration(elapsed));
  if (worked_ > 0 && expected_ > size_t(total_))
    line += ", ETA " + format_duration(worked_seconds_ / worked_ * double(expected_ - size_t(total_)));
  log::write_plain(line);
}

void Batch::run(const std::string& name, const std::string& input, const std::function<void(Case&)>& fn,
                const std::string& listing_error) {
  ++total_;
  const auto t0 = Clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  Case c(ctx_, name, input, progress_prefix(), &claimed_);
  auto failed = [&](ExitCode code, const std::string& what) {
    failures_.push_back({name, code, what});
    c.report("status", "failed").report("exit_code", static_cast<int>(code)).report("error", what);
    if (ctx_.json()) ctx_.print_result(c.result(), "");
    worked_seconds_ += seconds(), ++worked_;
    case_finished(name, code == ExitCode::Internal ? "failed (internal error)" : "failed", seconds());
  };
  try {
    if (!listing_error.empty()) fail(ExitCode::BadInput, "{}", listing_error);
    fn(c);
    if (c.skipped()) {
      ++skipped_;
      c.report("status", "skipped");
    } else {
      ++done_;
      c.report("status", "ok");
      worked_seconds_ += seconds(), ++worked_;
    }
    ctx_.print_result(c.result(), c.summary());
    case_finished(name, c.skipped() ? "skipped (exists)" : "ok", seconds());
  } catch (const Error& e) {
    log::error("{}", e.what());
    failed(e.code(), e.what());
  } catch (const std::exception& e) {
    const std::string what = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
    log::error("{}: internal error: {} (please report)", name, what);
    failed(ExitCode::Internal, what);
  }
}

ExitCode Batch::finish() {
  // The tally: always for an announced batch of several cases, else when it says something.
  if (expected_ > 1 || (total_ > 1 && !failures_.empty()) || skipped_ > 0) {
    std::string line = fmt::format("{} done, {} skipped, {} failed", done_, skipped_, failures_.size());
    if (total_ > 1) line += fmt::format(" ({} cases in {})", total_,
                                        format_duration(std::chrono::duration<double>(Clock::now() - start_).count()));
    for (size_t i = 0; i < failures_.size() && i < 5; ++i) line += (i ? ", " : "; failed: ") + failures_[i].name;
    if (failures_.size() > 5) line += ", ...";
    log::write_plain(line);
  }
  if (failures_.empty()) return ExitCode::Ok;
  if (total_ == 1) return failures_.front().code;
  return ExitCode::PartialBatch;
}

Json Batch::failures_json() const {
  Json out = Json::array();
  for (const auto& f : failures_) {
    Json j = Json::object();
    j["case"] = f.name, j["error"] = f.error;
    out.push_back(j);
  }
  return out;
}

}  // namespace voxseg::cli
