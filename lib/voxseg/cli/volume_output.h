#pragma once
#include <filesystem>
#include <string>

namespace voxseg::cli {

/// Where a batch program writes one volume per case (predict's label maps, refine's masks).
struct VolumeOutput {
  std::filesystem::path path;  ///< the folder, or the single output file
  bool single_file = false;    ///< `-o` names a file (volume extension): exactly one case
  std::string ext;             ///< folder mode: the extension of every case's file (".nii.gz")
};

/// Checks before any heavy work (the model is not loaded yet) what would otherwise fail after it:
/// `--ext` must be a writable volume extension with its dot (exit 2: "nrrd" would write DICOM
/// folders, ".dcm" is not written); a single output file must have one (".dcm": exit 5), must not
/// exist without --force (5) and its folder must exist; an output folder is created and must be
/// writable (5, proven by writing a probe file).
VolumeOutput prepare_volume_output(const std::string& output, const std::string& ext, bool force);

}  // namespace voxseg::cli
