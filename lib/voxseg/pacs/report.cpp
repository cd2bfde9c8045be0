#include "voxseg/pacs/report.h"

#include "voxseg/core/log.h"

namespace voxseg::pacs {

Report echo_report(const Peer& peer, const NetworkOptions& options) {
  echo(peer, options);
  Report r;
  Json j = Json::object();
  j["echo"] = peer.str();
  j["ok"] = true;
  r.json.push_back(j);
  r.text = "C-ECHO " + peer.str() + ": ok";
  return r;
}

Report store_report(const Peer& peer, const StoreSummary& s) {
  for (const auto& f : s.failures) log::warn("{}", f);
  Report r;
  Json j = Json::object();
  j["peer"] = peer.str();
  j["sent"] = static_cast<int64_t>(s.sent);
  j["warnings"] = static_cast<int64_t>(s.warnings);
  j["failed"] = static_cast<int64_t>(s.failed);
  j["unreadable"] = static_cast<int64_t>(s.unreadable);
  r.json.push_back(j);
  r.text = fmt::format("{}: {} sent ({} with warnings), {} failed, {} unreadable", peer.str(), s.sent, s.warnings,
                       s.failed, s.unreadable);
  if (s.failed + s.unreadable > 0) r.code = s.sent > 0 ? ExitCode::PartialBatch : ExitCode::BadInput;
  if (s.failed > 0 && s.sent == 0 && s.unreadable == 0) r.code = ExitCode::Network;  // all refused by the peer
  return r;
}

Report find_report(const std::vector<FindMatch>& matches, const std::string& level) {
  Report r;
  const auto cols = find_columns(level);
  for (size_t i = 0; i < cols.size(); ++i) r.text += cols[i] + (i + 1 < cols.size() ? "\t" : "\n");
  for (const auto& m : matches) {
    Json j = Json::object();
    for (size_t i = 0; i < cols.size(); ++i) {
      const std::string& v = m.at(cols[i]);
      j[cols[i]] = v;
      r.text += v + (i + 1 < cols.size() ? "\t" : "\n");
    }
    r.json.push_back(j);
  }
  return r;
}

Report retrieve_report(const RetrieveRequest& request, const RetrieveSummary& s) {
  Report r;
  Json j = Json::object();
  j["output"] = request.output_dir.string();
  j["received"] = static_cast<int64_t>(s.received);
  j["existing"] = static_cast<int64_t>(s.existing);
  j["failed"] = static_cast<int64_t>(s.failed);
  j["completed_by_peer"] = static_cast<int64_t>(s.completed);
  r.json.push_back(j);
  r.text = fmt::format("{}: {} instances received, {} already present (kept; --force replaces), {} failed",
                       request.output_dir.string(), s.received, s.existing, s.failed);
  if (s.failed > 0) r.code = ExitCode::PartialBatch;
  return r;
}

}  // namespace voxseg::pacs
