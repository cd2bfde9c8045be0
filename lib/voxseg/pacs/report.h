#pragma once
#include <string>
#include <vector>

#include "voxseg/core/error.h"
#include "voxseg/core/json.h"
#include "voxseg/pacs/client.h"

namespace voxseg::pacs {

/// What a command prints: JSON objects (one line each with --json) or text, and its exit code.
struct Report {
  std::vector<Json> json;
  std::string text;
  ExitCode code = ExitCode::Ok;
};

/// C-ECHO; throws Error(Network) when the peer does not answer.
Report echo_report(const Peer& peer, const NetworkOptions& options);
/// Exit 0; 8 when some files failed but others were sent; 3 when nothing readable was sent.
Report store_report(const Peer& peer, const StoreSummary& s);
/// A tab-separated table with a header line, or one JSON object per match.
Report find_report(const std::vector<FindMatch>& matches, const std::string& level);
/// Exit 8 when some instances failed.
Report retrieve_report(const RetrieveRequest& request, const RetrieveSummary& s);

}  // namespace voxseg::pacs
