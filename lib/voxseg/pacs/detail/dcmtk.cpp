#include "voxseg/pacs/detail/dcmtk.h"

#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmtls/tlslayer.h>
#include <dcmtk/oflog/oflog.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"

namespace fs = std::filesystem;

namespace voxseg::pacs::detail {

void init_dcmtk() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK logs through oflog to stderr; our one-line errors carry its condition text instead.
    OFLog::configure(log::enabled(log::Level::Debug) ? OFLogger::WARN_LOG_LEVEL : OFLogger::OFF_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
    ::signal(SIGPIPE, SIG_IGN);  // a peer closing the socket is an error code, not a signal
  });
}

std::unique_ptr<DcmTransportLayer> make_tls(const TlsOptions& tls, bool acceptor) {
  if (!tls.enabled) return nullptr;
  if (acceptor && (tls.cert.empty() || tls.key.empty()))
    fail(ExitCode::Usage, "--tls: a listener needs --cert and --key");
  if (tls.cert.empty() != tls.key.empty()) fail(ExitCode::Usage, "--tls: give --cert and --key together");
  if (!acceptor && tls.ca.empty()) fail(ExitCode::Usage, "--tls: give --ca (the CA that signed the peer's certificate)");
  auto layer = std::make_unique<DcmTLSTransportLayer>(acceptor ? NET_ACCEPTOR : NET_REQUESTOR, nullptr, OFTrue);
  auto need = [](const OFCondition& c, const std::string& what, const std::string& file) {
    if (c.bad()) fail(ExitCode::BadInput, "--tls: cannot use {} '{}': {}", what, file, c.text());
  };
  need(layer->setTLSProfile(TSP_Profile_BCP195), "the BCP 195 profile", "");
  need(layer->activateCipherSuites(), "the cipher suites", "");
  if (!tls.cert.empty()) {
    need(layer->setPrivateKeyFile(tls.key.c_str(), DCF_Filetype_PEM), "private key", tls.key);
    need(layer->setCertificateFile(tls.cert.c_str(), DCF_Filetype_PEM), "certificate", tls.cert);
    if (!layer->checkPrivateKeyMatchesCertificate())
      fail(ExitCode::BadInput, "--tls: key '{}' does not match certificate '{}'", tls.key, tls.cert);
  }
  if (!tls.ca.empty()) {
    need(layer->addTrustedCertificateFile(tls.ca.c_str(), DCF_Filetype_PEM), "CA certificate", tls.ca);
    layer->setCertificateVerification(DCV_requireCertificate);
  } else {
    layer->setCertificateVerification(DCV_ignoreCertificate);  // listener without --ca: no client certificates
  }
  return layer;
}

const std::vector<std::string>& storage_sop_classes() {
  static const std::vector<std::string> k = {
      UID_CTImageStorage, UID_EnhancedCTImageStorage, UID_LegacyConvertedEnhancedCTImageStorage,
      UID_MRImageStorage, UID_EnhancedMRImageStorage, UID_EnhancedMRColorImageStorage,
      UID_LegacyConvertedEnhancedMRImageStorage, UID_PositronEmissionTomographyImageStorage,
      UID_EnhancedPETImageStorage, UID_LegacyConvertedEnhancedPETImageStorage, UID_NuclearMedicineImageStorage,
      UID_SecondaryCaptureImageStorage, "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",
      "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4", UID_SegmentationStorage,
      UID_ComputedRadiographyImageStorage, UID_DigitalXRayImageStorageForPresentation,
      UID_DigitalXRayImageStorageForProcessing, UID_UltrasoundImageStorage, UID_UltrasoundMultiframeImageStorage,
      UID_XRay3DAngiographicImageStorage, UID_XRay3DCraniofacialImageStorage};
  return k;
}

std::vector<std::string> uncompressed_syntaxes() {
  return {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax};
}

std::vector<std::string> accepted_syntaxes() {
  return {UID_LittleEndianExplicitTransferSyntax,  UID_LittleEndianImplicitTransferSyntax,
          UID_JPEG2000LosslessOnlyTransferSyntax,  UID_JPEG2000TransferSyntax,
          UID_JPEGLSLosslessTransferSyntax,        UID_JPEGLSLossyTransferSyntax,
          UID_JPEGProcess14SV1TransferSyntax,      UID_JPEGProcess14TransferSyntax,
          UID_RLELosslessTransferSyntax,           UID_JPEGProcess1TransferSyntax,
          UID_DeflatedExplicitVRLittleEndianTransferSyntax, UID_BigEndianExplicitTransferSyntax};
}

OFList<OFString> to_list(const std::vector<std::string>& v) {
  OFList<OFString> out;
  for (const auto& s : v) out.push_back(s.c_str());
  return out;
}

void write_dataset_durable(DcmDataset& dataset, E_TransferSyntax xfer, const fs::path& target) {
  AtomicFile file(target, /*overwrite=*/true);  // commit: fsync, rename, fsync of the folder
  DcmFileFormat ff(&dataset, OFFalse);          // borrows the dataset; released below
  const OFCondition cond = ff.saveFile(file.temp_path().c_str(), xfer);
  ff.getAndRemoveDataset();
  if (cond.bad()) fail(ExitCode::CannotWrite, "cannot write '{}': {}", file.temp_path().string(), cond.text());
  file.commit();
}

void check(const OFCondition& cond, const char* what, const Peer& peer) {
  if (cond.good()) return;
  std::string why = cond.text();
  if (cond == DUL_ASSOCIATIONREJECTED)
    why = "association rejected (is our AE title known to the peer, and its AE title right?)";
  else if (cond == NET_EC_NoAcceptablePresentationContexts)
    why = "the peer accepted none of the proposed SOP classes / transfer syntaxes";
  fail(ExitCode::Network, "{} {}: {}", what, peer.str(), why);
}

Client::Client(const Peer& peer, const NetworkOptions& options) : peer_(peer), options_(options) {
  init_dcmtk();
  setAETitle(options.aet.c_str());
  setPeerAETitle(peer.aet.c_str());
  setPeerHostName(peer.host.c_str());
  setPeerPort(peer.port);
  setMaxReceivePDULength(options.max_pdu);
  setConnectionTimeout(options.timeout_s);
  setACSETimeout(static_cast<Uint32>(options.timeout_s));
  setDIMSETimeout(static_cast<Uint32>(options.timeout_s));
  setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  setDatasetConversionMode(OFTrue);  // decompress when the peer accepted only uncompressed syntaxes
  tls_ = make_tls(options.tls, false);
}

Client::~Client() {
  if (isConnected()) abortAssociation();
}

void Client::connect(const char* what) {
  check(initNetwork(), what, peer_);
  if (tls_) check(useSecureConnection(tls_.get()), what, peer_);
  check(negotiateAssociation(), what, peer_);
}

void Client::release() {
  if (isConnected()) releaseAssociation();
}

OFCondition Client::handleSTORERequest(const T_ASC_PresentationContextID presID, DcmDataset* incomingObject,
                                       OFBool& /*continueCGETSession*/, Uint16& cStoreReturnStatus) {
  std::unique_ptr<DcmDataset> ds(incomingObject);  // ours to delete
  OFString sop, abstract, syntax;
  if (!ds || ds->findAndGetOFString(DCM_SOPInstanceUID, sop).bad()) {
    cStoreReturnStatus = STATUS_STORE_Error_DataSetDoesNotMatchSOPClass;
    ++write_failures;
    return EC_Normal;
  }
  findPresentationContext(presID, abstract, syntax);
  const fs::path target = get_dir / (uid_file_stem(sop.c_str()) + ".dcm");
  std::error_code ec;
  if (!overwrite && fs::exists(target, ec)) {
    ++existing;
    cStoreReturnStatus = STATUS_Success;
    return EC_Normal;
  }
  try {
    write_dataset_durable(*ds, DcmXfer(syntax.c_str()).getXfer(), target);
    ++received;
    cStoreReturnStatus = STATUS_Success;
  } catch (const Error& e) {
    log::error("{}", e.what());
    ++write_failures;
    cStoreReturnStatus = STATUS_STORE_Refused_OutOfResources;
  }
  return EC_Normal;
}

// ---- storage SCP ------------------------------------------------------------------------------

namespace {

class StorageScp : public DcmThreadSCP {
 public:
  explicit StorageScp(const ScpHandler& h) : handler_(h) {}

 protected:
  OFBool checkCalledAETitleAccepted(const OFString& called) override {
    if (called.c_str() == handler_.our_aet) return OFTrue;
    refused("called AE title '" + std::string(called.c_str()) + "' is not ours ('" + handler_.our_aet + "')");
    return OFFalse;
  }
  OFBool checkCallingAETitleAccepted(const OFString& calling) override {
    if (handler_.allowed_calling.empty()) return OFTrue;
    for (const auto& a : handler_.allowed_calling)
      if (a == calling.c_str()) return OFTrue;
    refused("calling AE title '" + std::string(calling.c_str()) + "' is not on --allow");
    return OFFalse;
  }
  OFCondition handleIncomingCommand(T_DIMSE_Message* msg, const DcmPresentationContextInfo& info) override {
    if (msg->CommandField != DIMSE_C_STORE_RQ) return DcmThreadSCP::handleIncomingCommand(msg, info);
    T_DIMSE_C_StoreRQ& req = msg->msg.CStoreRQ;
    DcmDataset* raw = nullptr;
    OFCondition cond = receiveSTORERequest(req, info.presentationContextID, raw);
    std::unique_ptr<DcmDataset> ds(raw);
    if (cond.bad()) {
      log::warn("C-STORE from {}: receiving the dataset failed: {}", getPeerAETitle().c_str(), cond.text());
      return cond;
    }
    IncomingInstance in;
    in.dataset = ds.get();
    in.sop_class = req.AffectedSOPClassUID;
    in.sop_instance = req.AffectedSOPInstanceUID;
    in.transfer_syntax = info.acceptedTransferSyntax.c_str();
    in.calling_aet = getPeerAETitle().c_str();
    in.peer_ip = getPeerIP().c_str();
    Uint16 status = STATUS_STORE_Refused_OutOfResources;
    try {
      status = handler_.on_instance(in);
    } catch (const std::exception& e) {
      log::error("C-STORE {}: {}", in.sop_instance, e.what());
    }
    return sendSTOREResponse(info.presentationContextID, req, status);
  }

 private:
  void refused(const std::string& why) {
    log::warn("refused association from {}: {}", getPeerIP().c_str(), why);
    if (handler_.on_refused) handler_.on_refused(why);
  }
  const ScpHandler& handler_;
};

}  // namespace

class StorageServer::Pool : public DcmBaseSCPPool {
 public:
  explicit Pool(const ScpHandler& h) : handler_(h) {}

 protected:
  struct Worker : public DcmBaseSCPWorker, private StorageScp {
    Worker(Pool& pool, const ScpHandler& h) : DcmBaseSCPWorker(pool), StorageScp(h) {}
    OFCondition setSharedConfig(const DcmSharedSCPConfig& config) override {
      return StorageScp::setSharedConfig(config);
    }
    OFBool busy() override { return StorageScp::isConnected(); }
    OFCondition workerListen(T_ASC_Association* const assoc) override { return StorageScp::run(assoc); }
  };
  DcmBaseSCPWorker* createSCPWorker() override { return new Worker(*this, handler_); }

 private:
  ScpHandler handler_;
};

StorageServer::StorageServer(const ScpHandler& handler, uint16_t port, const NetworkOptions& options,
                             int max_associations)
    : pool_(std::make_unique<Pool>(handler)) {
  init_dcmtk();
  DcmSCPConfig& cfg = pool_->getConfig();
  cfg.setAETitle(handler.our_aet.c_str());
  cfg.setPort(port);
  cfg.setMaxReceivePDULength(options.max_pdu);
  cfg.setConnectionBlockingMode(DUL_NOBLOCK);  // wake up every second to notice stop()
  cfg.setConnectionTimeout(1);
  cfg.setACSETimeout(static_cast<Uint32>(options.timeout_s));
  cfg.setDIMSETimeout(static_cast<Uint32>(options.timeout_s));
  cfg.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  cfg.setHostLookupEnabled(OFFalse);
  cfg.setRespondWithCalledAETitle(OFFalse);
  const OFList<OFString> uncompressed = to_list(uncompressed_syntaxes());
  cfg.addPresentationContext(UID_VerificationSOPClass, uncompressed);
  const OFList<OFString> syntaxes = to_list(accepted_syntaxes());
  for (const auto& sop : storage_sop_classes()) cfg.addPresentationContext(sop.c_str(), syntaxes);
  tls_ = make_tls(options.tls, true);
  if (tls_) cfg.setTransportLayer(tls_.get());
  pool_->setMaxThreads(static_cast<Uint16>(max_associations));
}

StorageServer::~StorageServer() = default;

void StorageServer::run() {
  const OFCondition cond = pool_->listen();
  if (cond.bad())
    fail(ExitCode::Network, "cannot listen on port {}: {}", pool_->getConfig().getPort(), cond.text());
}

void StorageServer::stop() { pool_->stopAfterCurrentAssociations(); }

}  // namespace voxseg::pacs::detail
