#include <dcmtk/config/osconfig.h>

#include "voxseg/pacs/client.h"
#include "voxseg/pacs/detail/dcmtk.h"

namespace voxseg::pacs {

void echo(const Peer& peer, const NetworkOptions& options) {
  detail::Client scu(peer, options);
  scu.addPresentationContext(UID_VerificationSOPClass, detail::to_list(detail::uncompressed_syntaxes()));
  scu.connect("C-ECHO to");
  detail::check(scu.sendECHORequest(0), "C-ECHO to", peer);
  scu.release();
}

}  // namespace voxseg::pacs
