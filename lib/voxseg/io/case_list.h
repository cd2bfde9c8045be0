#pragma once
#include <string>
#include <vector>

namespace voxseg::io {

/// One input case: what to read and the name outputs are given.
struct CaseInput {
  std::string name;  ///< file name without extension ("case_001"), or the DICOM folder's name
  std::string path;  ///< a volume file or a DICOM folder
};

/// Expands program inputs, in order: a volume file is one case; a DICOM folder is one case; any other
/// folder contributes its volume files and DICOM sub-folders in sorted order; "-" reads one path per
/// line from stdin (refused when stdin is a terminal). Throws Error(BadInput) for a path that does not
/// exist or a folder with no cases, Error(Usage) for "-" on a terminal.
std::vector<CaseInput> expand_inputs(const std::vector<std::string>& inputs);

}  // namespace voxseg::io
