#include <algorithm>

#include "voxseg/core/error.h"
#include "voxseg/pacs/listener.h"
#include "voxseg/pacs/spool.h"

namespace fs = std::filesystem;

namespace voxseg::pacs {

Json spool_status(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "journal.jsonl", ec))
    fail(ExitCode::BadInput, "'{}' is not a voxseg pacs spool (no journal.jsonl)", dir.string());
  const Spool spool(dir, false);
  int64_t counts[5] = {0, 0, 0, 0, 0};
  double oldest = 0, latest_error_time = 0;
  std::string last_error, last_error_series;
  const double now = now_seconds();
  for (const auto& v : spool.snapshot()) {
    ++counts[static_cast<int>(v.stage)];
    const bool unfinished = v.stage != Stage::Sent && v.stage != Stage::Failed;
    if (unfinished && (oldest == 0 || v.first_received < oldest)) oldest = v.first_received;
    if (!v.last_error.empty() && v.last_received >= latest_error_time) {
      latest_error_time = v.last_received;
      last_error = v.last_error;
      last_error_series = v.key;
    }
  }
  Json j = Json::object();
  j["spool"] = dir.string();
  j["series"] = static_cast<int64_t>(counts[0] + counts[1] + counts[2] + counts[3] + counts[4]);
  j["receiving"] = counts[static_cast<int>(Stage::Receiving)];
  j["pending_segmentation"] = counts[static_cast<int>(Stage::Complete)];
  j["pending_send"] = counts[static_cast<int>(Stage::Segmented)];
  j["sent"] = counts[static_cast<int>(Stage::Sent)];
  j["failed"] = counts[static_cast<int>(Stage::Failed)];
  j["quarantined"] = static_cast<int64_t>(spool.quarantine_count());
  j["last_error"] = last_error.empty() ? Json() : Json(last_error);
  j["last_error_series"] = last_error_series.empty() ? Json() : Json(last_error_series);
  j["queue_age_s"] = oldest == 0 ? Json() : Json(std::max(0.0, now - oldest));
  return j;
}

std::string format_status(const Json& s) {
  auto n = [&](const char* k) { return s.find(k)->as_int(); };
  std::string out = fmt::format(
      "{}: {} series versions: {} receiving, {} pending segmentation, {} pending send, {} sent, {} failed; "
      "{} instances quarantined",
      s.find("spool")->as_string(), n("series"), n("receiving"), n("pending_segmentation"), n("pending_send"),
      n("sent"), n("failed"), n("quarantined"));
  if (!s.find("queue_age_s")->is_null())
    out += fmt::format("\noldest unfinished series waiting {:.0f} s", s.find("queue_age_s")->as_double());
  if (!s.find("last_error")->is_null())
    out += fmt::format("\nlast error ({}): {}", s.find("last_error_series")->as_string(),
                       s.find("last_error")->as_string());
  return out;
}

}  // namespace voxseg::pacs
