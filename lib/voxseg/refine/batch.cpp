#include "voxseg/refine/batch.h"

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/io/dicom_series.h"

namespace fs = std::filesystem;

namespace voxseg::refine {
namespace {

bool is_case_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && !io::is_dicom_directory(p);
}

}  // namespace

bool is_batch(const std::vector<std::string>& inputs, const fs::path& output) {
  if (inputs.size() != 1 || inputs.front() == "-" || is_case_folder(inputs.front())) return true;
  std::error_code ec;
  return fs::is_directory(output, ec) || output.filename().extension().empty();
}

void check_batch_options(const CaseOptions& options) {
  check_prompt_options(options);
  const PromptSource& p = options.prompts;
  std::error_code ec;
  if (!p.labels.empty()) {
    if (!fs::exists(p.labels, ec)) fail(ExitCode::BadInput, "--labels '{}': no such folder", p.labels);
    if (!is_case_folder(p.labels))
      fail(ExitCode::Usage, "--labels '{}': with a batch give a folder of label maps named like the cases "
           "(DIR/<case>.nii.gz, as voxseg predict -o DIR writes them)", p.labels);
  }
  if (!p.prompts_json.empty() && !fs::exists(p.prompts_json, ec))
    fail(ExitCode::BadInput, "--prompts '{}': no such file or folder", p.prompts_json);
  if (!options.logits.empty()) {
    if (!options.logits.filename().extension().empty() && !fs::is_directory(options.logits, ec))
      fail(ExitCode::Usage, "--logits '{}': with a batch give a folder (one <case><ext> per case)",
           options.logits.string());
    check_output_folder(options.logits);
  }
}

fs::path find_case_volume(const fs::path& dir, const std::string& name, const char* what) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const char* ext : {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"})
    if (fs::is_regular_file(dir / (name + ext), ec)) found.push_back(dir / (name + ext));
  if (found.empty())
    fail(ExitCode::BadInput, "{} '{}' has no file for case '{}' ({}.nii.gz, .nii, .nrrd, .nhdr, .mha or .mhd)", what,
         dir.string(), name, (dir / name).string());
  if (found.size() > 1)
    fail(ExitCode::BadInput, "{} '{}' has more than one file for case '{}' ('{}' and '{}'); keep one", what,
         dir.string(), name, found[0].string(), found[1].string());
  return found.front();
}

CaseOptions case_options(const CaseOptions& given, const std::string& name, const fs::path& output) {
  CaseOptions o = given;
  o.redo = true;
  PromptSource& p = o.prompts;
  if (!p.labels.empty()) p.labels = find_case_volume(p.labels, name, "--labels").string();
  std::error_code ec;
  if (!p.prompts_json.empty() && fs::is_directory(p.prompts_json, ec)) {
    const fs::path file = fs::path(p.prompts_json) / (name + ".json");
    if (!fs::is_regular_file(file, ec))
      fail(ExitCode::BadInput, "--prompts '{}' has no '{}.json' for case '{}'", p.prompts_json, name, name);
    p.prompts_json = file.string();
  }
  if (!o.logits.empty()) {
    o.logits = o.logits / (name + full_extension(output));
    fs::create_directories(o.logits.parent_path(), ec);  // --names path: "p1/ct"
    if (ec) fail(ExitCode::CannotWrite, "cannot create folder '{}': {}", o.logits.parent_path().string(), ec.message());
  }
  remove_stale_partials({output, o.logits});
  return o;
}

}  // namespace voxseg::refine
