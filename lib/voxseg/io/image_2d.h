#pragma once
#include <filesystem>

#include "voxseg/core/volume.h"

namespace voxseg::io {

/// True for the 2D image extensions read_image_2d knows: .png, .jpg, .jpeg, .tif, .tiff, .bmp.
bool is_image_2d_path(const std::filesystem::path& path);

/// An 8-bit grey or RGB(A) image as a 2D volume with pixel coordinates (spacing 1, origin 0):
/// uint8 [1,Y,X] for grey, [3,1,Y,X] for colour (alpha dropped). Throws Error(BadInput) for a
/// missing or unreadable file, more than 8 bits per sample or more than 2 dimensions. Colour images
/// whose channels are all equal (e.g. palette BMPs expanded by the reader) are returned grey.
Volume read_image_2d(const std::filesystem::path& path);

/// Writes a 2D volume [1,Y,X] (values 0..255) as an 8-bit grey image; format from the extension,
/// atomically. Error(CannotWrite) for an existing file without overwrite, Error(BadInput) for values
/// outside 0..255.
void write_image_2d(const Volume& volume, const std::filesystem::path& path, bool overwrite);

}  // namespace voxseg::io
