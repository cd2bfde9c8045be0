#pragma once
// Private to io: volume files read and written through ITK's ImageIO (NIfTI, NRRD, MetaImage and any
// other format ITK knows), including the conversion between on-disk pixel types and tensors.
// volume_io.cpp decides which format a path is; these do the ITK part. No ITK types here.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>

#include "voxseg/core/volume.h"
#include "voxseg/io/detail/io_common.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::io::detail {

/// Reads a 2D or 3D image file with ITK (uint16 -> int32, uint32 -> int64, vector pixels as
/// [C,Z,Y,X]). `nifti` (from check_nifti_header; default for other formats) restores the stored
/// type, and integer voxels ITK rescaled to float become integers again when exact. Throws
/// Error(BadInput) naming the file, ITK's complaint or the gzip problem.
Volume read_itk_volume(const std::filesystem::path& path, const NiftiHeaderFacts& nifti, VolumeFileInfo* info);

/// Writes `data` ([Z,Y,X], or [Z,Y,X,C] with `components` interleaved; shape already checked against
/// `g`) to a volume file as options.pixel_type (Auto: from the dtype). Integers from floats are
/// rounded; values that do not fit fail with Error(BadInput) rather than wrap. The file appears
/// atomically (.nhdr/.mhd: data file first, header last). Throws Error(CannotWrite).
void write_itk_volume(const at::Tensor& data, int64_t components, const Geometry& g, const std::filesystem::path& path,
                      const WriteOptions& options);

}  // namespace voxseg::io::detail
