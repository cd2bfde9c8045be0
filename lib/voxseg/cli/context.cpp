#include "voxseg/cli/context.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>

#include "voxseg/core/log.h"
#include "voxseg/core/version.h"

namespace voxseg::cli {
namespace {

// Draws "label [####......]  42%" on a terminal (clearing the rest of the line), throttled; or
// milestone lines when not a TTY.
class StderrProgress : public ProgressSink {
 public:
  explicit StderrProgress(bool tty) : tty_(tty) {}
  ~StderrProgress() override { end_line(); }

  void update(const std::string& label, double fraction) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (tty_) {
      if (fraction < 1.0 && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      const int width = 30;
      const int filled = int(fraction * width + 0.5);
      // Batch runs prefix the label with "case i/N (elapsed, ETA)"; a long label loses its middle.
      const std::string shown =
          label.size() > 72 ? label.substr(0, 40) + "..." + label.substr(label.size() - 29) : label;
      std::fprintf(stderr, "\r%s: %-24s [%s%s] %3d%%\033[K", log::program().c_str(), shown.c_str(),
                   std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), '.').c_str(),
                   int(fraction * 100 + 0.5));
      std::fflush(stderr);
      drawn_ = true;
      if (fraction >= 1.0) end_line();
    } else {
      // Milestones at 1/16, 1/8, 1/4, 1/2 and done: sparse, so redirected logs stay readable.
      while (next_ <= 1.0 && fraction >= next_) {
        log::info("{}: {:.0f}%", label, next_ * 100);
        next_ = next_ >= 1.0 ? 2.0 : std::min(1.0, next_ * 2);
      }
    }
  }

  static void end_line() {
    if (drawn_) {
      std::fputc('\n', stderr);
      drawn_ = false;
    }
  }

 private:
  bool tty_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  double next_ = 1.0 / 16;
  static inline bool drawn_ = false;
};

}  // namespace

Context::Context(std::string verb, CommonOptions common) : verb_(std::move(verb)), common_(std::move(common)) {
  log::set_line_hook(&StderrProgress::end_line);
}

Progress Context::progress(const std::string& label) const {
  if (common_.quiet) return {};
  const bool tty = isatty(STDERR_FILENO);
  if (!tty && !log::enabled(log::Level::Info)) return {};
  return Progress(std::make_shared<StderrProgress>(tty), label);
}

void Context::print_result(const Json& result, const std::string& human) const {
  std::string text = common_.json ? result.dump() + "\n" : human;
  if (text.empty()) return;
  if (text.back() != '\n') text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

Json Context::provenance() const {
  Json p = Json::object();
  p["program"] = "voxseg-" + verb_;
  p["version"] = version();
  p["revision"] = git_revision();
  p["command_line"] = common_.command_line;
  return p;
}

}  // namespace voxseg::cli
