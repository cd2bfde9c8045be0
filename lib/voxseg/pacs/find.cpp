#include <memory>

#include "voxseg/core/error.h"
#include "voxseg/pacs/client.h"
#include "voxseg/pacs/detail/dcmtk.h"

namespace voxseg::pacs {
namespace {

bool all_digits(const std::string& s) { return s.find_first_not_of("0123456789") == std::string::npos; }

void check_query(const FindQuery& q) {
  if (q.level != "study" && q.level != "series") fail(ExitCode::Usage, "--level '{}': use study or series", q.level);
  if (!q.study_uid.empty() && !is_valid_uid(q.study_uid))
    fail(ExitCode::Usage, "--study-uid '{}' is not a DICOM UID (digits and dots)", q.study_uid);
  if (!q.date.empty()) {
    const size_t dash = q.date.find('-');
    const std::string a = q.date.substr(0, dash), b = dash == std::string::npos ? "" : q.date.substr(dash + 1);
    const bool ok = a.size() == 8 && all_digits(a) && (dash == std::string::npos || (b.size() == 8 && all_digits(b)));
    if (!ok) fail(ExitCode::Usage, "--date '{}': expected YYYYMMDD or YYYYMMDD-YYYYMMDD", q.date);
  }
  for (const std::string* v : {&q.patient_id, &q.accession, &q.modality})
    if (v->find('\\') != std::string::npos) fail(ExitCode::Usage, "query value '{}' contains a backslash", *v);
}

// Printable text only: a peer's attribute values never put control bytes on our terminal.
std::string printable(const OFString& v) {
  std::string out;
  for (char c : std::string(v.c_str())) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

}  // namespace

std::vector<std::string> find_columns(const std::string& level) {
  if (level == "series")
    return {"StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
            "NumberOfSeriesRelatedInstances"};
  return {"PatientID", "PatientName", "StudyDate", "AccessionNumber", "StudyInstanceUID", "ModalitiesInStudy",
          "StudyDescription", "NumberOfStudyRelatedInstances"};
}

std::vector<FindMatch> find(const Peer& peer, const FindQuery& q, const NetworkOptions& options) {
  check_query(q);
  detail::Client scu(peer, options);
  scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel,
                             detail::to_list(detail::uncompressed_syntaxes()));
  DcmDataset query;
  const bool series = q.level == "series";
  query.putAndInsertOFStringArray(DCM_QueryRetrieveLevel, series ? "SERIES" : "STUDY");
  for (const auto& key : find_columns(q.level)) {
    DcmTag t;
    if (DcmTag::findTagFromName(key.c_str(), t).bad()) continue;
    query.insertEmptyElement(t);
  }
  auto put = [&](const DcmTagKey& tag, const std::string& v) {
    if (!v.empty()) query.putAndInsertOFStringArray(tag, v.c_str());
  };
  put(DCM_PatientID, q.patient_id);
  put(DCM_StudyInstanceUID, q.study_uid);
  put(DCM_AccessionNumber, q.accession);
  put(series ? DCM_Modality : DCM_ModalitiesInStudy, q.modality);
  if (!q.date.empty()) query.putAndInsertOFStringArray(DCM_StudyDate, q.date.c_str());
  scu.connect("C-FIND to");
  OFList<QRResponse*> responses;
  const OFCondition cond = scu.sendFINDRequest(scu.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, ""), &query, &responses);
  std::vector<FindMatch> matches;
  Uint16 final_status = 0;
  for (QRResponse* r : responses) {
    std::unique_ptr<QRResponse> owned(r);
    final_status = r->m_status;
    if (!r->m_dataset) continue;
    FindMatch m;
    for (const auto& key : find_columns(q.level)) {
      DcmTag t;
      OFString v;
      if (DcmTag::findTagFromName(key.c_str(), t).good() && r->m_dataset->findAndGetOFStringArray(t, v).good())
        m[key] = printable(v);
      else
        m[key] = "";
    }
    matches.push_back(std::move(m));
  }
  detail::check(cond, "C-FIND to", peer);
  if (final_status != STATUS_Success && !DICOM_PENDING_STATUS(final_status))
    fail(ExitCode::Network, "C-FIND to {}: the peer answered status 0x{:04X}", peer.str(), final_status);
  scu.release();
  return matches;
}

}  // namespace voxseg::pacs
