#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "voxseg/pacs/peer.h"

namespace voxseg::pacs {

/// C-ECHO. Throws Error(Network) with one line (refused association, timeout, connection refused).
void echo(const Peer& peer, const NetworkOptions& options);

struct StoreSummary {
  size_t sent = 0, warnings = 0, failed = 0, unreadable = 0;
  std::vector<std::string> failures;  ///< "<file>: <why>", one per failed or unreadable file
};
/// DICOM files under `paths` (folders recursively, sorted). Proposes each file's own transfer syntax
/// and the uncompressed ones, for each SOP class present plus the usual image classes and
/// Segmentation Storage. Throws Error(BadInput) when no path holds a readable DICOM file,
/// Error(Network) when the association fails; a peer refusing single instances is counted.
StoreSummary store(const Peer& peer, const std::vector<std::filesystem::path>& paths, const NetworkOptions& options);

struct FindQuery {
  std::string level = "study";  ///< study | series
  std::string patient_id, study_uid, accession, modality, date;  ///< date: YYYYMMDD or YYYYMMDD-YYYYMMDD
};
using FindMatch = std::map<std::string, std::string>;  ///< DICOM keyword -> value
/// C-FIND in the Study Root model. Throws Error(Usage) for a bad query, Error(Network).
std::vector<FindMatch> find(const Peer& peer, const FindQuery& query, const NetworkOptions& options);
/// The keywords `find` returns for a level, in display order.
std::vector<std::string> find_columns(const std::string& level);

struct RetrieveRequest {
  std::string study_uid, series_uid;  ///< one of them; a series alone is looked up for its study
  std::filesystem::path output_dir;
  bool overwrite = false;
  uint16_t port = 0;  ///< C-MOVE: our storage SCP's port
};
struct RetrieveSummary {
  size_t received = 0, existing = 0, failed = 0, completed = 0, warnings = 0;
};
/// C-GET into output_dir (one file per instance, named by SOP Instance UID).
RetrieveSummary get(const Peer& peer, const RetrieveRequest& request, const NetworkOptions& options);
/// C-MOVE to our own storage SCP, started on request.port for the duration with our AE title.
RetrieveSummary move(const Peer& peer, const RetrieveRequest& request, const NetworkOptions& options);

}  // namespace voxseg::pacs
