#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace voxseg {

/// Where progress goes (the CLI draws a bar or prints milestones); the library never draws.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  /// fraction in [0, 1] of the whole run; label names the current stage.
  virtual void update(const std::string& label, double fraction) = 0;
};

/// A cheap handle the library ticks. Default-constructed handles are silent.
class Progress {
 public:
  Progress() = default;
  explicit Progress(std::shared_ptr<ProgressSink> sink, std::string label = "");

  void set_total(int64_t total);
  void advance(int64_t n = 1);
  /// A sub-task covering `share` (0..1) of this handle's range, starting where earlier children ended.
  Progress child(std::string label, double share);
  bool is_silent() const { return node_ == nullptr; }

 private:
  struct Node;
  std::shared_ptr<Node> node_;
};

}  // namespace voxseg
