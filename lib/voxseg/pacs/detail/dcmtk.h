#pragma once
// Private to lib/voxseg/pacs: DCMTK plumbing shared by the commands (association setup, TLS,
// SOP class lists, durable writes, the storage SCP). Never included outside pacs/.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmnet/scppool.h>
#include <dcmtk/dcmnet/scpthrd.h>
#include <dcmtk/dcmnet/scu.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "voxseg/pacs/peer.h"

class DcmTransportLayer;

namespace voxseg::pacs::detail {

/// Once per process: DCMTK's own logging off unless debugging, codecs registered, SIGPIPE ignored.
void init_dcmtk();

/// TLS layer for a requestor (client) or acceptor (listener). Throws Error(Usage/BadInput).
std::unique_ptr<DcmTransportLayer> make_tls(const TlsOptions& tls, bool acceptor);

/// Storage SOP classes the listener and C-GET accept (images, SEG, secondary capture, ...).
const std::vector<std::string>& storage_sop_classes();
/// Uncompressed transfer syntaxes (explicit LE, implicit LE).
std::vector<std::string> uncompressed_syntaxes();
/// What the listener accepts, in preference order: uncompressed, then lossless and lossy compressed.
std::vector<std::string> accepted_syntaxes();
OFList<OFString> to_list(const std::vector<std::string>& v);

/// Writes a dataset as a DICOM file through core's AtomicFile (temporary file, fsync, rename, fsync of
/// the folder); an existing file of that name is replaced. Throws Error(CannotWrite).
void write_dataset_durable(DcmDataset& dataset, E_TransferSyntax xfer, const std::filesystem::path& target);

/// A DcmSCU configured from a peer and the shared network options.
class Client : public DcmSCU {
 public:
  Client(const Peer& peer, const NetworkOptions& options);
  ~Client() override;
  /// initNetwork + negotiateAssociation; throws Error(Network) with one line naming the peer.
  void connect(const char* what);
  void release();
  const Peer& peer() const { return peer_; }

  /// C-GET destination: instances received during a C-GET are written here (by SOP Instance UID).
  std::filesystem::path get_dir;
  bool overwrite = false;
  size_t received = 0, existing = 0, write_failures = 0;

 protected:
  OFCondition handleSTORERequest(const T_ASC_PresentationContextID presID, DcmDataset* incomingObject,
                                 OFBool& continueCGETSession, Uint16& cStoreReturnStatus) override;

 private:
  Peer peer_;
  NetworkOptions options_;
  std::unique_ptr<DcmTransportLayer> tls_;
};

/// Throws Error(Network) "<what> <peer>: <condition text>" when cond is bad.
void check(const OFCondition& cond, const char* what, const Peer& peer);

/// What a received C-STORE hands to the application; it returns the DIMSE status to respond with.
struct IncomingInstance {
  DcmDataset* dataset = nullptr;  ///< owned by the SCP
  std::string sop_class, sop_instance;  ///< from the C-STORE request
  std::string transfer_syntax;          ///< accepted for the presentation context
  std::string calling_aet, peer_ip;
};
struct ScpHandler {
  std::string our_aet;
  std::vector<std::string> allowed_calling;  ///< empty: any calling AE title
  std::function<Uint16(IncomingInstance&)> on_instance;
  std::function<void(const std::string&)> on_refused;  ///< association refused (reason text)
};

/// A storage SCP (C-ECHO + C-STORE) on a port, serving up to `max_associations` at once in threads.
/// run() blocks until stop() is called (checked each second), then waits for open associations.
class StorageServer {
 public:
  StorageServer(const ScpHandler& handler, uint16_t port, const NetworkOptions& options, int max_associations);
  ~StorageServer();
  void run();
  void stop();
  /// True once the port is open (run() has initialised the network).

 private:
  class Pool;
  std::unique_ptr<Pool> pool_;
  std::unique_ptr<DcmTransportLayer> tls_;
};

}  // namespace voxseg::pacs::detail
