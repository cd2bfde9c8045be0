#include "voxseg/cli/volume_output.h"

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/io/volume_io.h"

namespace fs = std::filesystem;

namespace voxseg::cli {

VolumeOutput prepare_volume_output(const std::string& output, const std::string& ext, bool force) {
  VolumeOutput out;
  out.path = output;
  out.single_file = io::is_volume_path(output);
  if (out.single_file) {
    const std::string problem = io::volume_file_extension_problem(full_extension(out.path));
    if (!problem.empty()) fail(ExitCode::CannotWrite, "cannot write '{}': {}", output, problem);
    check_output_path(out.path, force);  // exists without --force, or no folder: exit 5
    check_output_folder(out.path.has_parent_path() ? out.path.parent_path() : fs::path("."));
    return out;
  }
  const std::string problem = io::volume_file_extension_problem(ext);
  if (!problem.empty()) fail(ExitCode::Usage, "--ext {}", problem);
  out.ext = ext;
  check_output_folder(out.path);
  return out;
}

}  // namespace voxseg::cli
