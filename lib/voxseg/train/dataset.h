#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/core/progress.h"
#include "voxseg/core/volume.h"

namespace voxseg::train {

/// One declared label: value in the label maps and its name.
struct LabelDef {
  int64_t id = 0;
  std::string name;
};

/// One training case: an image path per channel and a label map path.
struct TrainCase {
  std::string name;
  std::vector<std::string> images;  ///< one per channel, channel order
  std::string label;
};

/// A labeled dataset: nnU-Net v2 / MSD folder (imagesTr/, labelsTr/, dataset.json) or a CSV file.
struct Dataset {
  std::string root;                        ///< folder or CSV file it came from
  std::vector<std::string> channel_names;  ///< "CT", "T1", ...; index = channel
  std::vector<LabelDef> labels;            ///< sorted by id, background (0) first
  std::string file_ending = ".nii.gz";
  bool instances = false;  ///< label maps hold instance ids (cells): trained as background/interior/boundary
  std::vector<TrainCase> cases;            ///< sorted by name
};

/// Reads a dataset. A folder needs dataset.json with channel_names and labels ("file_ending" defaults
/// to ".nii.gz"); cases are the files of labelsTr/ and their images imagesTr/<case>_<XXXX><ending>
/// (or a DICOM folder imagesTr/<case>_<XXXX>/). A CSV file has a header row naming columns
/// image (or image_0, image_1, ...) and label, one case per row, relative paths resolved against
/// the CSV's folder; optional columns "case"; channel names and labels then come from a JSON file
/// given as `dataset_json` (or, if empty, labels are discovered when validating: see validate).
/// Throws Error(BadInput) naming the file and the problem.
Dataset read_dataset(const std::string& path, const std::string& dataset_json = "");

/// Parses dataset.json's content (channel_names, labels, file_ending, optional "instances").
/// Throws std::invalid_argument naming the bad field.
void parse_dataset_json(const Json& json, Dataset& dataset);

/// One problem of one case.
struct CaseProblem {
  std::string case_name;
  std::string message;
};

/// Checks one case already read: image channels share one geometry, the label map has it too, label
/// values are declared ones (or, for instance datasets, non-negative integers). Returns every problem
/// found as a one-line message (empty when fine). Pure: used by validate_dataset and tests.
std::vector<std::string> check_case(const std::vector<Volume>& images, const Volume& label, const Dataset& dataset);

/// Reads every case and checks it (missing files, unreadable files, check_case). Returns all problems,
/// one per case and kind; does not throw for bad cases.
std::vector<CaseProblem> validate_dataset(const Dataset& dataset, Progress progress = {});

/// dataset.json for a dataset (as nnU-Net writes it), e.g. to store in a bundle.
Json dataset_to_json(const Dataset& dataset);

}  // namespace voxseg::train
