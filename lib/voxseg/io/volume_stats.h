#pragma once
#include "voxseg/core/json.h"
#include "voxseg/core/volume.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::io {

struct StatsOptions {
  bool labels = false;        ///< treat as a label map whatever its type
  int max_auto_labels = 32;   ///< integer volumes with at most this many distinct values are label maps
};

/// Intensity statistics of a volume (all channels pooled): {"min","max","mean","p1","p50","p99"}
/// (percentiles by linear interpolation between order statistics, as numpy's default), and, for a
/// label map, "labels": [{"value","voxels","volume_ml"}, ...] in ascending value order.
Json volume_statistics(const Volume& volume, const StatsOptions& options = {});

/// Geometry as JSON: dims, size, spacing, origin, direction (row-major), orientation.
Json geometry_json(const Geometry& geometry);

/// Everything `voxseg info` reports about one input (file, or DICOM folder with its series list):
/// format, stored type, dtype, channels, geometry_json fields, statistics, DICOM metadata.
/// Throws what read_volume throws.
Json describe_volume_file(const std::string& path, const ReadOptions& read, const StatsOptions& stats);

/// Human-readable multi-line rendering of describe_volume_file's result.
std::string describe_text(const Json& description);

}  // namespace voxseg::io
