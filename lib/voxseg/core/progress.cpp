#include "voxseg/core/progress.h"

#include <algorithm>
#include <mutex>

namespace voxseg {

struct Progress::Node {
  std::shared_ptr<ProgressSink> sink;
  std::string label;
  double base = 0.0;   // start of this node's range in the whole run
  double span = 1.0;   // width of this node's range
  double claimed = 0;  // share of this range handed to children so far
  int64_t total = 0;
  int64_t count = 0;
  std::mutex mutex;
};

Progress::Progress(std::shared_ptr<ProgressSink> sink, std::string label) {
  if (!sink) return;
  node_ = std::make_shared<Node>();
  node_->sink = std::move(sink);
  node_->label = std::move(label);
}

void Progress::set_total(int64_t total) {
  if (!node_) return;
  std::lock_guard<std::mutex> lock(node_->mutex);
  node_->total = std::max<int64_t>(total, 0);
  node_->count = 0;
}

void Progress::advance(int64_t n) {
  if (!node_) return;
  double fraction;
  {
    std::lock_guard<std::mutex> lock(node_->mutex);
    node_->count += n;
    const double done = node_->total > 0 ? std::min(1.0, double(node_->count) / double(node_->total)) : 1.0;
    fraction = node_->base + node_->span * done;
  }
  node_->sink->update(node_->label, fraction);
}

Progress Progress::child(std::string label, double share) {
  Progress out;
  if (!node_) return out;
  std::lock_guard<std::mutex> lock(node_->mutex);
  auto node = std::make_shared<Node>();
  node->sink = node_->sink;
  node->label = label.empty() ? node_->label : std::move(label);
  share = std::clamp(share, 0.0, 1.0 - node_->claimed);
  node->base = node_->base + node_->span * node_->claimed;
  node->span = node_->span * share;
  node_->claimed += share;
  out.node_ = std::move(node);
  return out;
}

}  // namespace voxseg
