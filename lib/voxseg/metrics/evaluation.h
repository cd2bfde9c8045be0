#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxseg/core/json.h"
#include "voxseg/metrics/display_window.h"
#include "voxseg/metrics/evaluate.h"
#include "voxseg/metrics/instances.h"
#include "voxseg/metrics/lesions.h"

namespace voxseg::metrics {

/// One prediction/reference pair to score.
struct EvalCase {
  std::string name;   ///< case name (file name without extension)
  std::string pred;   ///< prediction path
  std::string ref;    ///< reference path
  std::string image;  ///< optional image for QC pictures
};

/// Cases found, plus the names that could not be paired (each with the reason).
struct Pairing {
  std::vector<EvalCase> cases;
  std::vector<std::pair<std::string, std::string>> unmatched;  ///< name, why
};

/// Pairs inputs: two files; two folders matched by case name (volume files only, sorted); or a CSV
/// with a header naming columns pred, ref and optionally image, case (relative paths are relative
/// to the CSV's folder). `image` is a file (used for every case) or a folder matched by case name.
/// Throws Error(BadInput) for a path that does not exist, Error(Usage) for a bad combination.
Pairing pair_inputs(const std::string& pred, const std::string& ref, const std::string& pairs_csv,
                    const std::string& image);

struct EvalOptions {
  MetricOptions metrics;
  std::vector<int64_t> labels;       ///< empty: every non-zero label present in either volume
  std::vector<Region> regions;       ///< merged regions, scored after `labels`
  std::map<int64_t, std::string> names;  ///< label table
  std::map<int64_t, std::array<uint8_t, 3>> colours;  ///< label colours (table), for the report
  std::string modality;                               ///< "CT", "MR", ... from the label table ("" unknown)
  std::string report_window = "auto";                 ///< QC window: auto, a preset, LEVEL,WIDTH, percentile
  bool instances = false;            ///< label values are instance ids
  bool resample_pred = false;        ///< nearest-neighbour onto the reference grid instead of failing
  bool qc_images = false;            ///< render QC pictures for the report
  /// A label map with more distinct non-zero values is refused as an intensity image (exit 3).
  /// < 0: the default, 1000, and no limit with `instances` (cell images hold thousands of ids).
  int64_t max_labels = -1;
  LesionOptions lesions;             ///< lesion-wise scores for these regions (none: off)
};

/// Names, colours and the modality hint of a label table file (read_label_info) into options.
/// Throws Error(BadInput) as read_label_info.
void load_label_table(EvalOptions& options, const std::string& path);

/// A QC picture set of one region: PNG bytes of axial, coronal and sagittal crops, and of the
/// whole slices they were cut from with the crop's box drawn (context).
struct QcPanel {
  std::string region;
  std::array<std::string, 3> png, context;
};

struct CaseResult {
  EvalCase input;
  std::vector<RegionScores> regions;
  std::optional<InstanceScores> instances;
  bool resampled = false;
  std::vector<QcPanel> qc;
  std::optional<DisplayWindow> qc_window;                 ///< the QC pictures' window (with an image)
  std::map<std::string, std::array<uint8_t, 3>> colours;  ///< display colour per region name
  std::vector<LesionScores> lesions;  ///< one per lesion label (--lesions)
};

/// Reads and scores one case. Throws Error(BadInput) for unreadable files, for a volume that is no
/// label map (non-integer values, or more than max_labels distinct values: an intensity image, or
/// -p/-r swapped, which the message suggests) and, unless resample_pred, for different geometry
/// (message names the difference).
CaseResult evaluate_case(const EvalCase& c, const EvalOptions& options, Progress progress = {});

/// describe_conventions(options.metrics), plus the instance definitions in instance mode.
Json describe_conventions(const EvalOptions& options);

/// One human line per case: "case: label dice=0.912 hd95=2.31 [flag]; ...".
std::string case_line(const CaseResult& r);

/// Per-case JSON (case, inputs, per-region or instance scores, flags).
Json case_json(const CaseResult& r);

}  // namespace voxseg::metrics
