#include "voxseg/pacs/steps.h"

#include "voxseg/core/error.h"
#include "voxseg/core/json.h"

namespace fs = std::filesystem;

namespace voxseg::pacs {
namespace {

void pass(std::vector<std::string>& argv, const char* flag, const std::string& value) {
  if (!value.empty()) argv.insert(argv.end(), {flag, value});
}

}  // namespace

std::string own_program(const std::string& name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / name, ec)) return (self.parent_path() / name).string();
  return name;
}

std::vector<std::string> predict_command(const ListenOptions& o, const fs::path& instances, const fs::path& labels) {
  std::vector<std::string> argv = {o.segment_command.empty() ? own_program("voxseg-predict") : o.segment_command};
  pass(argv, "-m", o.model);
  pass(argv, "--nnunet", o.nnunet);
  argv.insert(argv.end(), {"-i", instances.string(), "-o", labels.string()});
  if (o.refine.checkpoint.empty()) argv.push_back("--dicom-seg");
  argv.push_back("--force");
  pass(argv, "--folds", o.folds);
  pass(argv, "--precision", o.precision);
  pass(argv, "--device", o.device);
  if (o.disable_tta) argv.push_back("--disable-tta");
  if (o.threads > 0) pass(argv, "--threads", std::to_string(o.threads));
  argv.insert(argv.end(), o.predict_args.begin(), o.predict_args.end());
  return argv;
}

std::vector<std::string> refine_command(const ListenOptions& o, const fs::path& instances, const fs::path& labels,
                                        const fs::path& refined) {
  std::vector<std::string> argv = {own_program("voxseg-refine"), "--sam", o.refine.checkpoint, "-i",
                                   instances.string(), "--labels", labels.string(), "-o", refined.string(), "--force"};
  pass(argv, "--preset", o.refine.preset);
  pass(argv, "--mode", o.refine.mode);
  pass(argv, "--margin", o.refine.margin);
  pass(argv, "--device", o.device);
  if (o.threads > 0) pass(argv, "--threads", std::to_string(o.threads));
  argv.insert(argv.end(), o.refine.args.begin(), o.refine.args.end());
  return argv;
}

RefineProvenance refine_provenance(const ListenOptions& o, const fs::path& predict_report,
                                   const std::string& sam_sha256) {
  RefineProvenance p;
  p.preset = o.refine.preset.empty() ? "sam" : o.refine.preset;
  p.sam_sha256 = sam_sha256;
  try {
    const Json report = read_json_file(predict_report.string(), ExitCode::BadInput);
    if (const Json* model = report.find("model"); model && model->is_object()) {
      const Json* name = model->find("name");
      const Json* id = model->find("id");
      const Json* sha = model->find("sha256");
      if (name && name->is_string()) p.model_name = name->as_string();
      else if (id && id->is_string()) p.model_name = id->as_string().substr(0, id->as_string().find('@'));
      if (sha && sha->is_string()) p.model_sha256 = sha->as_string();
    }
  } catch (const Error&) {
    // No report (e.g. a custom --segment-command): the SEG names only the refinement.
  }
  return p;
}

std::vector<std::string> seg_command(const ListenOptions& o, const fs::path& refined, const fs::path& instances,
                                     const fs::path& seg, const RefineProvenance& provenance) {
  std::vector<std::string> argv = {own_program("voxseg-convert"), refined.string(), seg.string(), "--seg-reference",
                                   instances.string()};
  // Segment names, colours and codes: the bundle (model.json) or the nnU-Net folder's dataset.json.
  std::error_code ec;
  if (!o.model.empty()) pass(argv, "--label-table", o.model);
  else if (fs::is_regular_file(fs::path(o.nnunet) / "dataset.json", ec))
    pass(argv, "--label-table", (fs::path(o.nnunet) / "dataset.json").string());
  const std::string refiner = provenance.preset == "medsam" ? "MedSAM" : "SAM";
  pass(argv, "--algorithm-name", (provenance.model_name.empty() ? "voxseg" : provenance.model_name) + " + " + refiner);
  std::string parameters;
  if (!provenance.model_sha256.empty()) parameters = "model_sha256=" + provenance.model_sha256 + "; ";
  parameters += "refine=" + provenance.preset;
  if (!provenance.sam_sha256.empty()) parameters += "; sam_sha256=" + provenance.sam_sha256;
  pass(argv, "--algorithm-parameters", parameters);
  argv.push_back("--force");
  return argv;
}

std::vector<PassThroughOption> pass_through_options(ListenOptions& o) {
  return {{"--folds", &o.folds, "voxseg predict --folds (with --nnunet)"},
          {"--precision", &o.precision, "voxseg predict --precision"},
          {"--device", &o.device, "voxseg predict and refine --device"},
          {"--refine-sam", &o.refine.checkpoint, "then refine: voxseg refine --sam CHECKPOINT (docs/pacs.md)"},
          {"--refine-preset", &o.refine.preset, "voxseg refine --preset sam|medsam"},
          {"--refine-mode", &o.refine.mode, "voxseg refine --mode replace|intersect|union"},
          {"--refine-margin", &o.refine.margin, "voxseg refine --margin PIXELS"}};
}

void check_refine_options(const ListenOptions& o) {
  const auto& r = o.refine;
  if (r.checkpoint.empty()) {
    if (!r.preset.empty() || !r.mode.empty() || !r.margin.empty() || !r.args.empty())
      fail(ExitCode::Usage, "--refine-preset, --refine-mode, --refine-margin and --refine-arg need --refine-sam");
    return;
  }
  if (!r.preset.empty() && r.preset != "sam" && r.preset != "medsam")
    fail(ExitCode::Usage, "--refine-preset '{}': expected sam or medsam", r.preset);
  if (!r.mode.empty() && r.mode != "replace" && r.mode != "intersect" && r.mode != "union")
    fail(ExitCode::Usage, "--refine-mode '{}': expected replace, intersect or union", r.mode);
  if (!r.margin.empty() && (r.margin.size() > 6 || r.margin.find_first_not_of("0123456789") != std::string::npos))
    fail(ExitCode::Usage, "--refine-margin '{}': expected a number of pixels >= 0", r.margin);
  std::error_code ec;
  if (!fs::is_regular_file(r.checkpoint, ec))
    fail(ExitCode::BadModel, "--refine-sam '{}': no such checkpoint file", r.checkpoint);
}

}  // namespace voxseg::pacs
