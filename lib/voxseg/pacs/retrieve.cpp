#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/pacs/client.h"
#include "voxseg/pacs/detail/dcmtk.h"

namespace fs = std::filesystem;

namespace voxseg::pacs {
namespace {

void check_request(const RetrieveRequest& r) {
  if (r.study_uid.empty() && r.series_uid.empty()) fail(ExitCode::Usage, "give --study-uid or --series-uid");
  for (const std::string* uid : {&r.study_uid, &r.series_uid})
    if (!uid->empty() && !is_valid_uid(*uid)) fail(ExitCode::Usage, "'{}' is not a DICOM UID (digits and dots)", *uid);
  std::error_code ec;
  fs::create_directories(r.output_dir, ec);
  if (ec || !fs::is_directory(r.output_dir))
    fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", r.output_dir.string(), ec.message());
}

// Study Root retrieval of a series needs its study: ask the peer when only the series was given.
std::string study_of_series(const Peer& peer, const std::string& series_uid, const NetworkOptions& options) {
  detail::Client scu(peer, options);
  scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel,
                             detail::to_list(detail::uncompressed_syntaxes()));
  DcmDataset query;
  query.putAndInsertOFStringArray(DCM_QueryRetrieveLevel, "SERIES");
  query.putAndInsertOFStringArray(DCM_SeriesInstanceUID, series_uid.c_str());
  query.insertEmptyElement(DCM_StudyInstanceUID);
  scu.connect("C-FIND to");
  OFList<QRResponse*> responses;
  const OFCondition cond = scu.sendFINDRequest(scu.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, ""), &query, &responses);
  std::string study;
  for (QRResponse* r : responses) {
    std::unique_ptr<QRResponse> owned(r);
    OFString v;
    if (r->m_dataset && r->m_dataset->findAndGetOFString(DCM_StudyInstanceUID, v).good() && study.empty())
      study = v.c_str();
  }
  detail::check(cond, "C-FIND to", peer);
  scu.release();
  if (study.empty()) fail(ExitCode::Network, "{} does not know series {}", peer.str(), series_uid);
  return study;
}

void fill_query(DcmDataset& query, const Peer& peer, const RetrieveRequest& r, const NetworkOptions& options) {
  const bool series = !r.series_uid.empty();
  const std::string study = !r.study_uid.empty() ? r.study_uid : study_of_series(peer, r.series_uid, options);
  query.putAndInsertOFStringArray(DCM_QueryRetrieveLevel, series ? "SERIES" : "STUDY");
  query.putAndInsertOFStringArray(DCM_StudyInstanceUID, study.c_str());
  if (series) query.putAndInsertOFStringArray(DCM_SeriesInstanceUID, r.series_uid.c_str());
}

// The final response carries the sub-operation counts; a failure status without counts is the peer's refusal.
void read_final(OFList<RetrieveResponse*>& responses, RetrieveSummary& s, const Peer& peer, const char* what) {
  Uint16 status = STATUS_Success;
  for (RetrieveResponse* r : responses) {
    std::unique_ptr<RetrieveResponse> owned(r);
    status = r->m_status;
    s.completed = r->m_numberOfCompletedSubops;
    s.failed = r->m_numberOfFailedSubops;
    s.warnings = r->m_numberOfWarningSubops;
  }
  responses.clear();
  const bool failure = status != STATUS_Success && (status & 0xF000) != 0xB000 && !DICOM_PENDING_STATUS(status);
  if (failure && s.completed == 0 && s.failed == 0) {
    const char* hint = status == 0xA801 ? " (move destination unknown: register our AE title, host and port there)" : "";
    fail(ExitCode::Network, "{} {}: the peer answered status 0x{:04X}{}", what, peer.str(), status, hint);
  }
}

bool port_open(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

RetrieveSummary get(const Peer& peer, const RetrieveRequest& r, const NetworkOptions& options) {
  check_request(r);
  DcmDataset query;
  fill_query(query, peer, r, options);
  detail::Client scu(peer, options);
  scu.get_dir = r.output_dir;
  scu.overwrite = r.overwrite;
  scu.addPresentationContext(UID_GETStudyRootQueryRetrieveInformationModel,
                             detail::to_list(detail::uncompressed_syntaxes()));
  // We are the storage SCP for the sub-operations on the same association (SCP role per SOP class).
  const OFList<OFString> syntaxes = detail::to_list(detail::accepted_syntaxes());
  for (const auto& sop : detail::storage_sop_classes()) scu.addPresentationContext(sop.c_str(), syntaxes, ASC_SC_ROLE_SCP);
  scu.connect("C-GET from");
  OFList<RetrieveResponse*> responses;
  const OFCondition cond = scu.sendCGETRequest(scu.findPresentationContextID(UID_GETStudyRootQueryRetrieveInformationModel, ""), &query, &responses);
  RetrieveSummary s;
  read_final(responses, s, peer, "C-GET from");
  detail::check(cond, "C-GET from", peer);
  scu.release();
  s.received = scu.received;
  s.existing = scu.existing;
  s.failed += scu.write_failures;
  return s;
}

RetrieveSummary move(const Peer& peer, const RetrieveRequest& r, const NetworkOptions& options) {
  check_request(r);
  if (r.port == 0) fail(ExitCode::Usage, "C-MOVE needs --port: our storage SCP's port (known to the peer)");
  DcmDataset query;
  fill_query(query, peer, r, options);

  RetrieveSummary s;
  std::atomic<size_t> received{0}, existing{0}, write_failures{0};  // written by the SCP's thread
  detail::ScpHandler handler;
  handler.our_aet = options.aet;
  handler.on_instance = [&](detail::IncomingInstance& in) -> Uint16 {
    const fs::path target = r.output_dir / (uid_file_stem(in.sop_instance) + ".dcm");
    std::error_code ec;
    if (!r.overwrite && fs::exists(target, ec)) {
      ++existing;
      return STATUS_Success;
    }
    try {
      detail::write_dataset_durable(*in.dataset, DcmXfer(in.transfer_syntax.c_str()).getXfer(), target);
      ++received;
      return STATUS_Success;
    } catch (const Error& e) {
      log::error("{}", e.what());
      ++write_failures;
      return STATUS_STORE_Refused_OutOfResources;
    }
  };
  detail::StorageServer server(handler, r.port, options, 1);
  std::string server_error;
  std::thread thread([&] {
    try {
      server.run();
    } catch (const Error& e) {
      server_error = e.what();
    }
  });
  struct Joiner {  // the SCP is stopped and joined on every path out of this function
    detail::StorageServer& server;
    std::thread& thread;
    ~Joiner() {
      server.stop();
      if (thread.joinable()) thread.join();
    }
  } joiner{server, thread};
  for (int i = 0; i < 100 && !port_open(r.port) && server_error.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!server_error.empty() || !port_open(r.port))
    fail(ExitCode::Network, "cannot start our storage SCP on port {}: {}", r.port,
         server_error.empty() ? "port not open" : server_error);

  detail::Client scu(peer, options);
  scu.addPresentationContext(UID_MOVEStudyRootQueryRetrieveInformationModel,
                             detail::to_list(detail::uncompressed_syntaxes()));
  scu.connect("C-MOVE from");
  OFList<RetrieveResponse*> responses;
  const OFCondition cond = scu.sendMOVERequest(scu.findPresentationContextID(UID_MOVEStudyRootQueryRetrieveInformationModel, ""), options.aet.c_str(), &query, &responses);
  read_final(responses, s, peer, "C-MOVE from");
  detail::check(cond, "C-MOVE from", peer);
  scu.release();
  s.received = received;
  s.existing = existing;
  s.failed += write_failures;
  return s;
}

}  // namespace voxseg::pacs
