#include <algorithm>
#include <set>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/pacs/client.h"
#include "voxseg/pacs/detail/dcmtk.h"

namespace fs = std::filesystem;

namespace voxseg::pacs {
namespace {

struct LocalFile {
  fs::path path;
  std::string sop_class, sop_instance, syntax;
};

std::vector<fs::path> list_files(const std::vector<fs::path>& paths, StoreSummary& summary) {
  std::vector<fs::path> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->is_regular_file(ec)) found.push_back(it->path());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      ++summary.unreadable;
      summary.failures.push_back(p.string() + ": no such file or folder");
    }
  }
  return out;
}

// Reads the identifying attributes; large values (pixel data) are not loaded, but a file that ends
// before its declared lengths is still refused by the parser.
bool read_local(const fs::path& path, LocalFile& out, std::string& why) {
  DcmFileFormat file;
  const OFCondition cond = file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096);
  if (cond.bad()) {
    why = cond.text();
    return false;
  }
  OFString sop_class, sop_instance, syntax;
  file.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, sop_class);
  if (sop_class.empty()) file.getDataset()->findAndGetOFString(DCM_SOPClassUID, sop_class);
  file.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPInstanceUID, sop_instance);
  if (sop_instance.empty()) file.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop_instance);
  file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, syntax);
  if (syntax.empty()) syntax = DcmXfer(file.getDataset()->getOriginalXfer()).getXferID();
  if (sop_class.empty() || sop_instance.empty()) {
    why = "no SOP Class / SOP Instance UID (not a DICOM instance)";
    return false;
  }
  out = {path, sop_class.c_str(), sop_instance.c_str(), syntax.c_str()};
  return true;
}

bool is_uncompressed(const std::string& syntax) {
  return syntax == UID_LittleEndianExplicitTransferSyntax || syntax == UID_LittleEndianImplicitTransferSyntax ||
         syntax == UID_BigEndianExplicitTransferSyntax;
}

}  // namespace

StoreSummary store(const Peer& peer, const std::vector<fs::path>& paths, const NetworkOptions& options) {
  detail::init_dcmtk();
  StoreSummary summary;
  std::vector<LocalFile> files;
  for (const auto& path : list_files(paths, summary)) {
    LocalFile f;
    std::string why;
    if (read_local(path, f, why)) {
      files.push_back(f);
    } else {
      ++summary.unreadable;
      summary.failures.push_back(path.string() + ": " + why);
      log::warn("skipping '{}': {}", path.string(), why);
    }
  }
  if (files.empty()) {
    const std::string first = summary.failures.empty() ? "no files" : summary.failures.front();
    fail(ExitCode::BadInput, "nothing to send: no readable DICOM file ({})", first);
  }
  // Proposals: the usual image classes and SEG uncompressed (DCMTK's default list lacks SEG), then each
  // SOP class present with its files' own syntaxes and the uncompressed ones.
  std::set<std::string> classes = {UID_CTImageStorage, UID_MRImageStorage, UID_EnhancedCTImageStorage,
                                   UID_EnhancedMRImageStorage, UID_SecondaryCaptureImageStorage,
                                   UID_SegmentationStorage};
  std::set<std::pair<std::string, std::string>> compressed;
  for (const auto& f : files) {
    classes.insert(f.sop_class);
    if (!is_uncompressed(f.syntax)) compressed.insert({f.sop_class, f.syntax});
  }
  if (classes.size() + compressed.size() > 128)
    fail(ExitCode::Usage, "{} SOP class / transfer syntax combinations: more than one association can carry (128); "
         "send fewer folders at a time", classes.size() + compressed.size());
  detail::Client scu(peer, options);
  const OFList<OFString> uncompressed = detail::to_list(detail::uncompressed_syntaxes());
  for (const auto& [sop, syntax] : compressed) scu.addPresentationContext(sop.c_str(), detail::to_list({syntax}));
  for (const auto& sop : classes) scu.addPresentationContext(sop.c_str(), uncompressed);
  scu.connect("C-STORE to");

  for (const auto& f : files) {
    T_ASC_PresentationContextID pc = scu.findPresentationContextID(f.sop_class.c_str(), f.syntax.c_str());
    if (pc == 0) pc = scu.findPresentationContextID(f.sop_class.c_str(), UID_LittleEndianExplicitTransferSyntax);
    if (pc == 0) pc = scu.findPresentationContextID(f.sop_class.c_str(), UID_LittleEndianImplicitTransferSyntax);
    if (pc == 0) {
      ++summary.failed;
      summary.failures.push_back(f.path.string() + ": the peer accepted no presentation context for SOP class " +
                                 f.sop_class);
      continue;
    }
    Uint16 status = 0;
    const OFCondition cond = scu.sendSTORERequest(pc, f.path.c_str(), nullptr, status);
    if (cond.bad()) {
      if (!scu.isConnected()) detail::check(cond, "C-STORE to", peer);  // association lost: exit 7
      ++summary.failed;
      summary.failures.push_back(f.path.string() + ": " + cond.text());
    } else if (status == STATUS_Success) {
      ++summary.sent;
    } else if ((status & 0xF000) == 0xB000) {
      ++summary.sent;
      ++summary.warnings;
    } else {
      ++summary.failed;
      summary.failures.push_back(f.path.string() + fmt::format(": refused by the peer (status 0x{:04X})", status));
    }
  }
  scu.release();
  return summary;
}

}  // namespace voxseg::pacs
