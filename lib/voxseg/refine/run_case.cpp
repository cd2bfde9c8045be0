#include "voxseg/refine/run_case.h"

#include <torch/torch.h>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/heap_reuse.h"
#include "voxseg/core/log.h"
#include "voxseg/io/image_2d.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/refine/intensity.h"

namespace voxseg::refine {
namespace {

Volume read_any(const std::string& path, io::VolumeFileInfo* info = nullptr) {
  return io::is_image_2d_path(path) ? io::read_image_2d(path) : io::read_volume(path, {}, info);
}

void check_output(const std::filesystem::path& path, bool force, const char* what) {
  if (!io::is_volume_path(path) && !io::is_image_2d_path(path))
    fail(ExitCode::Usage, "{} '{}': unknown extension (use .nii.gz, .nrrd, .mha or, for 2D inputs, .png)", what,
         path.string());
  check_output_path(path, force);
}

// The 8-bit image the networks see: uint8 [Z,Y,X] or [3,Z,Y,X].
at::Tensor to_8bit(const Volume& v, const std::string& window, const io::VolumeFileInfo& info, std::string* used) {
  if (v.has_channels()) {
    if (v.channels() != 3 || v.data.scalar_type() != torch::kByte)
      fail(ExitCode::BadInput, "{} channel(s) of {}: refine reads grey volumes and 8-bit RGB images", v.channels(),
           dtype_name(v.data.scalar_type()));
    *used = "none";
    return v.data;
  }
  std::string name = window;
  if (name == "auto") {
    const Json* modality = info.metadata.find("modality");
    if (v.data.scalar_type() == torch::kByte) name = "none";
    else if (modality && modality->is_string() && modality->as_string() == "CT") name = "abdomen";
    else name = "percentile";
  }
  *used = name;
  return to_uint8(v.data, parse_intensity_mapping(name));
}

PromptSet build_prompts(const PromptSource& src, const Volume& image, at::Tensor* initial) {
  const bool is_2d = image.geometry.dims == 2;
  if (!src.labels.empty()) {
    const Volume labels = read_any(src.labels);
    if (labels.has_channels() || !same_geometry(labels.geometry, image.geometry))
      fail(ExitCode::BadInput, "--labels '{}' does not match the input's grid: {}", src.labels,
           labels.has_channels() ? "it has channels"
                                 : describe_geometry_difference(labels.geometry, image.geometry));
    if (at::isFloatingType(labels.data.scalar_type()) &&
        !torch::equal(labels.data, labels.data.round()))
      fail(ExitCode::BadInput, "--labels '{}': not a label map (non-integer values)", src.labels);
    *initial = labels.data.to(torch::kShort);
    return prompts_from_labels(*initial, parse_axis(src.axis), src.margin);
  }
  if (!src.prompts_json.empty()) return prompts_from_json(src.prompts_json, image.geometry, is_2d);
  std::vector<BoxSpec> boxes;
  std::vector<PointSpec> points;
  for (const auto& b : src.boxes) boxes.push_back(parse_box(b));
  for (const auto& p : src.points) points.push_back(parse_point(p));
  return prompts_from_cli(boxes, points, image.geometry.size, is_2d);
}

}  // namespace

void check_prompt_options(const CaseOptions& options) {
  const auto& p = options.prompts;
  const int kinds = int(!p.boxes.empty() || !p.points.empty()) + int(!p.labels.empty()) + int(!p.prompts_json.empty());
  if (kinds != 1)
    fail(ExitCode::Usage, "give prompts from exactly one of: --box/--point, --labels, --prompts");
  for (const auto& b : p.boxes) parse_box(b);
  for (const auto& q : p.points) parse_point(q);
  parse_axis(p.axis);
  if (p.margin < 0) fail(ExitCode::Usage, "--margin {}: must be >= 0", p.margin);
  if (options.window != "auto") parse_intensity_mapping(options.window);
  if (options.engine.batch_size < 1) fail(ExitCode::Usage, "--batch-size must be >= 1");
}

void check_case_options(const CaseOptions& options, const std::filesystem::path& output) {
  check_prompt_options(options);
  check_output(output, options.force, "output");
  if (!options.logits.empty()) {
    if (!io::is_volume_path(options.logits))
      fail(ExitCode::Usage, "--logits '{}': float logits need a volume extension (.nii.gz, .nrrd, .mha)",
           options.logits.string());
    check_output_path(options.logits, options.force);
  }
}

PreparedCase prepare_case(const std::string& input, const std::filesystem::path& output, const CaseOptions& options) {
  PreparedCase c;
  c.input = input;
  io::VolumeFileInfo info;
  c.image = read_any(input, &info);
  if (c.image.geometry.dims == 3 && io::is_image_2d_path(output))
    fail(ExitCode::Usage, "output '{}': a 2D image format cannot hold a volume of {} slices", output.string(),
         c.image.geometry.size[2]);
  c.image8 = to_8bit(c.image, options.window, info, &c.window);
  c.prompts = build_prompts(options.prompts, c.image, &c.initial);
  return c;
}

Json refine_case(const PreparedCase& c, const std::filesystem::path& output, PromptNetwork& network,
                 const CaseOptions& options, const EmbeddingCache& cache, Progress progress) {
  const Volume& image = c.image;
  const std::string& input = c.input;
  const std::string& window = c.window;
  EngineOptions engine = options.engine;
  engine.want_logits = !options.logits.empty();
  EngineResult r;
  {
    HeapReuse heap;  // the decoder's temporaries are reused, not mapped afresh per call
    r = run_engine(c.image8, c.prompts, network, engine, cache, c.initial, progress);
  }

  const bool fits_uint8 = r.labels.numel() == 0 || (r.labels.min().item<int64_t>() >= 0 && r.labels.max().item<int64_t>() <= 255);
  Json report = Json::object();
  report["input"] = input;
  report["output"] = output.string();
  if (engine.want_logits) {
    Volume logits{r.logits.size(0) == 1 ? r.logits[0] : r.logits, image.geometry};
    io::WriteOptions w;
    w.overwrite = options.force || options.redo;
    w.pixel_type = io::PixelType::Float32;
    io::write_volume(logits, options.logits, w);
    report["logits"] = options.logits.string();
  }
  // Last: the output is the case's "done" marker in a batch (a rerun skips the case when it exists).
  Volume labels{r.labels, image.geometry};
  if (io::is_image_2d_path(output)) {
    io::write_image_2d(labels, output, options.force);
  } else {
    io::WriteOptions w;
    w.overwrite = options.force;
    w.pixel_type = fits_uint8 ? io::PixelType::UInt8 : io::PixelType::Int16;
    io::write_volume(labels, output, w);
  }
  Json values = Json::array();
  for (const int64_t v : r.label_values) values.push_back(v);
  report["preset"] = preset_name(options.engine.preset);
  report["window"] = window;
  report["labels"] = values;
  for (const char* key : {"counts", "timings", "prompts"}) report[key] = *r.report.find(key);
  return report;
}

}  // namespace voxseg::refine
