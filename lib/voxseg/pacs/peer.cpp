#include "voxseg/pacs/peer.h"

#include <cctype>

#include "voxseg/core/error.h"
#include "voxseg/core/sha256.h"

namespace voxseg::pacs {

std::string Peer::str() const { return aet + "@" + host + ":" + std::to_string(port); }

void check_ae_title(const std::string& aet, const std::string& what) {
  if (aet.empty() || aet.size() > 16)
    fail(ExitCode::Usage, "{} '{}': an AE title has 1 to 16 characters", what, aet);
  for (unsigned char c : aet)
    if (c < 0x20 || c > 0x7e || c == '\\')
      fail(ExitCode::Usage, "{} '{}': an AE title has printable ASCII characters only, no backslash", what, aet);
}

Peer parse_peer(const std::string& text) {
  const size_t at = text.find('@');
  const size_t colon = text.rfind(':');
  if (at == std::string::npos || colon == std::string::npos || colon < at)
    fail(ExitCode::Usage, "peer '{}': expected AET@HOST:PORT, e.g. ORTHANC@127.0.0.1:4242", text);
  Peer p;
  p.aet = text.substr(0, at);
  p.host = text.substr(at + 1, colon - at - 1);
  const std::string port = text.substr(colon + 1);
  check_ae_title(p.aet, "peer " + text + ": AE title");
  if (p.host.empty()) fail(ExitCode::Usage, "peer '{}': the host is empty", text);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    fail(ExitCode::Usage, "peer '{}': port '{}' is not a number in 1..65535", text, port);
  p.port = static_cast<uint16_t>(std::stoi(port));
  return p;
}

bool is_valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.back() == '.') return false;
  char prev = 0;
  for (char c : uid) {
    if (c == '.' && prev == '.') return false;
    if (c != '.' && !std::isdigit(static_cast<unsigned char>(c))) return false;
    prev = c;
  }
  return true;
}

std::string uid_file_stem(const std::string& uid) {
  if (is_valid_uid(uid)) return uid;
  return "x" + sha256_hex(uid).substr(0, 32);
}

}  // namespace voxseg::pacs
