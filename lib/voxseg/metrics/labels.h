#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "voxseg/metrics/evaluate.h"

namespace voxseg::metrics {

/// Label id -> name, from a model bundle's model.json ("labels": [{id, name}, ...] or a bundle
/// folder holding it), an nnU-Net dataset.json ("labels": {name: id}) or a phantom.json
/// ("label_table": [{id, name}] or {id: name}). Label 0 / "background" is dropped.
/// Throws Error(BadInput) naming the file when it has none of these shapes.
std::map<int64_t, std::string> read_label_table(const std::string& path);

/// read_label_table's names, plus the labels' colours ("color": [r, g, b] in model.json and
/// phantom.json; checked 0..255) and a modality hint for the report's window: "CT" or "MR" from
/// phantom.json's kind, model.json's first channel (its name, or normalization scheme "ct") or
/// dataset.json's channel_names; another phantom kind as it is ("cells"); "" when unknown.
struct LabelInfo {
  std::map<int64_t, std::string> names;
  std::map<int64_t, std::array<uint8_t, 3>> colours;
  std::string modality;
};
LabelInfo read_label_info(const std::string& path);

/// "1,2,5" -> {1, 2, 5}; ranges "3-6" allowed. Throws Error(Usage) for anything else.
std::vector<int64_t> parse_label_list(const std::string& text);

/// "liver=1,6;kidneys=2,3" -> two merged regions. Throws Error(Usage) for bad syntax or value 0.
std::vector<Region> parse_regions(const std::string& text);

/// "1=2,liver=3.5" -> {"1": 2, "liver": 3.5} (NSD tolerances per label id or region name).
std::map<std::string, double> parse_tolerances(const std::string& text);

/// One region per label; names from the table when known, else the id as text.
std::vector<Region> regions_for_labels(const std::vector<int64_t>& labels, const std::map<int64_t, std::string>& names);

}  // namespace voxseg::metrics
