#include "voxseg/cli/read_options.h"

namespace voxseg::cli {

void add_read_options(CLI::App& app, io::ReadOptions& read) {
  app.add_option("--series", read.series_uid,
                 "DICOM folder: SeriesInstanceUID to read (default: most slices; no-uid-N for files without one)");
  app.add_flag("--allow-tilt", read.allow_tilt,
               "DICOM: resample a series acquired with gantry tilt onto an orthogonal grid (default: refuse it)");
  app.add_option("--slice-spacing-tolerance", read.slice_spacing_tolerance,
                 "DICOM: allowed deviation of a slice step from the median step, as a fraction")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
}

}  // namespace voxseg::cli
