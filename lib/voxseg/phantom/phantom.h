#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/volume.h"

namespace voxseg::phantom {

/// What a phantom models (docs/phantom.md).
enum class PhantomKind { CtAbdomen, MrBrain, Cells };

/// "ct-abdomen", "mr-brain", "cells".
std::string kind_name(PhantomKind kind);
/// Inverse of kind_name; throws Error(Usage) listing the kinds.
PhantomKind parse_kind(const std::string& name);

/// Options of make_phantom. Zeros mean "the kind's default" (see resolve_options).
struct PhantomOptions {
  PhantomKind kind = PhantomKind::CtAbdomen;
  uint64_t seed = 0;
  std::array<int64_t, 3> size{0, 0, 0};           ///< voxels along x, y, z
  std::array<double, 3> spacing_mm{0.0, 0.0, 0.0};  ///< x, y, z; for cells the numbers are micrometres
  /// Liver tumours (ct-abdomen), lesions (mr-brain), nuclei (cells); -1 = default: ct/mr draw 0-4 per
  /// seed (0 with probability 0.1), cells scale with the field of view.
  int objects = -1;
};

/// Zero sizes and spacings take the kind's defaults: ct-abdomen 256x256x100 at 1.5x1.5x2.5 mm,
/// mr-brain 144x176x144 at 1.25 mm, cells 128x128x48 at 0.5x0.5x1.0 um. objects == -1 stays -1 for
/// ct-abdomen and mr-brain (the count is drawn per seed; make_phantom records it) and becomes a
/// nucleus count scaled to the field of view for cells. Throws Error(Usage) for sizes < 8 or > 1024 per axis or more
/// than 2^27 voxels in all (memory), spacings outside (0, 100], or objects outside [-1, 1000] (cells: [1, 60000]).
PhantomOptions resolve_options(const PhantomOptions& options);

/// A synthetic case: the image, its ground-truth labels on the same grid, and the label table.
struct Phantom {
  Volume image;   ///< ct-abdomen int16 HU; mr-brain int16 (T1w-like); cells int32 photon counts
  Volume labels;  ///< ct-abdomen/mr-brain uint8 classes; cells int32 instances 1..N
  Json label_table = Json::array();  ///< [{id, name, color [r,g,b]}], background included
  std::string image_file_type;   ///< pixel type to store on disk ("int16", "uint16")
  std::string labels_file_type;  ///< "uint8" or "uint16"
  PhantomOptions options;        ///< resolved options it was made with; objects = the count made
};

/// Makes a phantom. Deterministic: the same resolved options give bit-identical tensors on any
/// machine with the same libm (no threads, own RNG and distributions). The anatomy depends only on
/// the seed and is scaled to the field of view, so a different size shows the same case.
/// Throws Error(Usage) for invalid options (see resolve_options).
Phantom make_phantom(const PhantomOptions& options);

/// Label table of a kind (for cells: background and nucleus_1..nucleus_N for `nuclei` instances).
Json label_table(PhantomKind kind, int nuclei = 0);

/// Nominal mean intensity of each label id (index = id) before blur, bias field and noise: HU for
/// ct-abdomen, T1w-like units for mr-brain, photons above background for cells (id 1 = any nucleus).
/// Tumours and lesions vary per object (hypo-, hyperintense, rim); theirs is the typical hypointense one.
std::vector<double> nominal_intensities(PhantomKind kind);

/// phantom.json for a single case: kind, seed, options, label table, voxseg version, label volumes.
Json describe_phantom(const Phantom& phantom);

/// Case identifier in datasets: "<kind>_<seed as 3+ digits>", e.g. "ct-abdomen_007".
std::string case_id(PhantomKind kind, uint64_t seed);

/// nnU-Net v2 / MSD-style dataset.json for `count` cases with seeds first_seed.. first_seed+count-1.
Json dataset_json(const PhantomOptions& options, int count);

/// Where `voxseg phantom -o DIR` writes. count == 1: DIR/image.nii.gz, DIR/labels.nii.gz and
/// DIR/phantom.json. count > 1: DIR/imagesTr/<id>_0000.nii.gz, DIR/labelsTr/<id>.nii.gz with ids
/// case_id(kind, seed + i), and DIR/dataset.json.
struct OutputPlan {
  struct Case {
    PhantomOptions options;  ///< seed of this case
    std::filesystem::path image, labels;
  };
  std::vector<Case> cases;
  std::filesystem::path json;                  ///< phantom.json or dataset.json
  std::vector<std::filesystem::path> folders;  ///< to create, parents first
  bool is_dataset() const { return cases.size() > 1; }
};

/// Throws Error(Usage) for count outside 1..10000 (and invalid options, see resolve_options).
OutputPlan plan_outputs(const PhantomOptions& options, int count, const std::filesystem::path& dir);

/// Throws Error(CannotWrite) naming the first planned file that already exists (unless overwrite),
/// or a planned folder that exists as a file. Call before generating anything.
void check_outputs(const OutputPlan& plan, bool overwrite);

/// Creates the plan's folders. Throws Error(CannotWrite) naming the folder and the reason.
void create_output_folders(const OutputPlan& plan);

}  // namespace voxseg::phantom
