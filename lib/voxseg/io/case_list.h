#pragma once
#include <string>
#include <vector>

namespace voxseg::io {

/// One input case: what to read and the name outputs are given.
struct CaseInput {
  std::string name;  ///< file name without extension ("case_001"), or the DICOM folder's name
  std::string path;  ///< a volume file or a DICOM folder
  std::string error{};  ///< non-empty: the input could not be listed (missing path); the case fails, others go on
};

/// How cases are named (the name is the output's file name in batch programs).
enum class CaseNames {
  Stem,  ///< file name without extension, or the DICOM folder's name: "p1/ct.nii.gz" -> "ct"
  Path,  ///< path relative to the deepest folder holding every input, without extension: "p1/ct"
};

struct ExpandOptions {
  /// A path that does not exist (or a folder without cases) becomes a case with `error` set instead
  /// of failing the whole list: batch programs fail that case only.
  bool failures_as_cases = false;
  CaseNames names = CaseNames::Stem;
};

/// Expands program inputs, in order: a volume file is one case; a DICOM folder is one case; any other
/// folder contributes its volume files and DICOM sub-folders in sorted order; "-" reads one path per
/// line from stdin (refused when stdin is a terminal). Throws Error(BadInput) for a path that does not
/// exist or a folder with no cases (unless options.failures_as_cases), Error(Usage) for "-" on a
/// terminal.
std::vector<CaseInput> expand_inputs(const std::vector<std::string>& inputs, const ExpandOptions& options = {});

}  // namespace voxseg::io
