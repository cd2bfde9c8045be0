#pragma once
#include <cstdint>
#include <string>

namespace voxseg::pacs {

/// A DICOM peer written as AET@HOST:PORT (e.g. ORTHANC@127.0.0.1:4242).
struct Peer {
  std::string aet;
  std::string host;
  uint16_t port = 0;
  std::string str() const;
};

/// TLS for an association (dcmtls, BCP 195 profile). Files are PEM.
struct TlsOptions {
  bool enabled = false;
  std::string cert;  ///< our certificate (required for a listener; optional for a client: mutual TLS)
  std::string key;   ///< its private key
  std::string ca;    ///< trusted CA certificate: the peer must present a certificate it signed
};

/// Options every `voxseg pacs` command shares.
struct NetworkOptions {
  std::string aet = "VOXSEG";  ///< our AE title
  int timeout_s = 30;          ///< connection, association and DIMSE timeout
  uint32_t max_pdu = 16384;    ///< largest PDU we receive
  TlsOptions tls;
};

/// Parses AET@HOST:PORT. Throws Error(Usage) naming what is wrong.
Peer parse_peer(const std::string& text);
/// Checks an AE title (1..16 characters, printable, no backslash). Throws Error(Usage).
void check_ae_title(const std::string& aet, const std::string& what);
/// True for a DICOM UID: digits and dots, 1..64 characters, no empty component.
bool is_valid_uid(const std::string& uid);
/// A file-name stem for a UID: the UID itself when valid, otherwise "x" + sha256 prefix of the text.
/// Never contains '/', never starts with '.', so attribute text cannot steer a path.
std::string uid_file_stem(const std::string& uid);

}  // namespace voxseg::pacs
