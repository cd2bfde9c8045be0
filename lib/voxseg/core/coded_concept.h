#pragma once
#include <string>

namespace voxseg {

/// A coded concept (SNOMED CT by default), as DICOM SEG wants for segment categories and types.
/// Shared by model bundles (models/bundle.h) and the DICOM SEG writer (io/dicom_seg.h).
struct CodedConcept {
  std::string code;            ///< "10200004"
  std::string scheme = "SCT";  ///< coding scheme designator
  std::string meaning;         ///< "Liver"
};

}  // namespace voxseg
