#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/volume.h"

namespace voxseg::refine {

/// Axis that slices are taken across, in array order: Z -> slices [Y,X], Y -> [Z,X], X -> [Z,Y].
/// In a slice, x is the column and y the row.
enum class Axis { Z, Y, X };
/// "z" | "y" | "x" (also "axial", "coronal", "sagittal" for z, y, x); Error(Usage) otherwise.
Axis parse_axis(const std::string& text);
int axis_dim(Axis axis);  ///< array dimension of [Z,Y,X]

/// A box in a slice's pixels, inclusive indices (x = column, y = row), as MedSAM derives boxes.
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};
struct Point {
  double x = 0, y = 0;
  bool positive = true;
};

/// One prompt for one slice.
struct SlicePrompt {
  int64_t slice = 0;        ///< index along the slice axis
  int64_t label = 1;        ///< value written where the mask is on
  std::optional<Box> box;   ///< the mask is kept inside it
  std::vector<Point> points;
  int64_t group = -1;       ///< 3D box it comes from (for --propagate), -1 for none
};

struct PromptSet {
  Axis axis = Axis::Z;
  std::vector<SlicePrompt> prompts;
};

/// --box text: 4 numbers (2D) or 6 (X0,Y0,X1,Y1,Z0,Z1, inclusive voxel indices).
struct BoxSpec {
  std::array<double, 6> v{};
  bool is_3d = false;
};
/// --point text: "X,Y[,Z]:1|0".
struct PointSpec {
  double x = 0, y = 0, z = 0;
  bool has_z = false, positive = true;
};
BoxSpec parse_box(const std::string& text);      ///< Error(Usage)
PointSpec parse_point(const std::string& text);  ///< Error(Usage)

/// Prompts from --box/--point for an image of `size` (x, y, z) voxels (`is_2d`: one slice, 2D boxes).
/// Box i gets label i + 1; points on a slice with boxes join each of them, else they form one
/// prompt (label 1) of their own. Error(Usage) for a box outside the image or empty, a 3D box on a 2D
/// image, a 2D box on a volume of several slices, a point outside the image.
PromptSet prompts_from_cli(const std::vector<BoxSpec>& boxes, const std::vector<PointSpec>& points,
                           const std::array<int64_t, 3>& size, bool is_2d);

/// From a label map [Z,Y,X] (integer): for each slice along `axis` and each label, one box per
/// 8-connected component, its bounding box grown by `margin` pixels and clipped to the slice.
/// Prompts come in slice order, then label, then component (raster order of first pixel).
PromptSet prompts_from_labels(const at::Tensor& labels, Axis axis, int64_t margin);

/// Prompts from a JSON file (schema in docs/refine.md); coordinates in voxels or in mm (LPS,
/// through `geometry`). Error(Usage) naming the key path for unknown keys, wrong types, or
/// prompts outside the image; Error(BadInput) when the file cannot be read or parsed.
PromptSet prompts_from_json(const std::filesystem::path& file, const Geometry& geometry, bool is_2d);

}  // namespace voxseg::refine
