#include "voxseg/infer/model_source.h"

#include <filesystem>

#include "voxseg/core/error.h"
#include "voxseg/io/seg_labels.h"

namespace fs = std::filesystem;

namespace voxseg::infer {

Model model_from_bundle(const models::ModelBundle& b, std::shared_ptr<models::Network> network) {
  Model m;
  m.networks = {std::move(network)};
  const std::string file = (b.dir / "model.json").string();
  preprocess::Plan& plan = m.plan;
  plan.dims = b.dims;
  if (b.dims == 2) {  // the sliced axis goes first; the others keep their order
    if (b.slice_axis < 0 || b.slice_axis > 2) fail(ExitCode::BadModel, "invalid model '{}': slice_axis {}", file, b.slice_axis);
    int k = 1;
    plan.transpose_forward[0] = b.slice_axis;
    for (int a = 0; a < 3; ++a)
      if (a != b.slice_axis) plan.transpose_forward[size_t(k++)] = a;
  }
  plan.crop_to_nonzero = b.crop_to_nonzero;
  for (size_t c = 0; c < b.channels.size(); ++c) {
    const preprocess::NormalizeOptions& o = b.channels[c].normalization;  // checked by parse_bundle_json
    if (o.use_mask && !plan.crop_to_nonzero)
      fail(ExitCode::BadModel, "invalid model '{}': channels[{}]: use_nonzero_mask needs crop_to_nonzero", file, c);
    plan.channels.push_back(o);
  }
  plan.target_spacing = b.target_spacing;
  m.patch_size = b.patch_size;
  m.mirror_axes = b.mirror_axes;
  if (m.mirror_axes.empty())
    for (size_t a = 0; a < b.patch_size.size(); ++a) m.mirror_axes.push_back(int64_t(a));
  for (const auto& l : b.labels) {
    m.output.values.push_back(l.id);
    if (l.id != 0) m.segments.push_back(io::default_segment(l.id, l.name, l.color, l.snomed));
  }
  if (b.postprocess.is_object()) {
    try {
      if (const Json* v = b.postprocess.find("largest_component")) m.postprocess.largest_component = v->as_bool();
      if (const Json* v = b.postprocess.find("fill_holes")) m.postprocess.fill_holes = v->as_bool();
      if (const Json* v = b.postprocess.find("min_size_ml")) m.postprocess.min_size_ml = v->as_double();
      if (const Json* v = b.postprocess.find("connectivity")) m.postprocess.connectivity = int(v->as_int());
      if (const Json* v = b.postprocess.find("instances")) {
        m.instances = true;
        m.instance_options = postprocess::parse_instance_options(*v);
      }
    } catch (const std::exception& e) {
      fail(ExitCode::BadModel, "invalid model '{}': field 'postprocess': {}", file, e.what());
    }
  }
  m.id = b.id();
  m.name = b.name;
  m.sha256 = b.weights_sha256;
  m.source = "bundle:" + b.dir.string();
  m.device = b.device.str();
  m.precision = models::precision_name(b.precision);
  return m;
}

Model load_model(const std::string& path, const std::string& device, models::Precision precision) {
  const fs::path dir(path);
  std::error_code ec;
  if (!fs::exists(dir / "model.json", ec) && fs::exists(dir / "plans.json", ec))
    fail(ExitCode::BadModel, "'{}' is an nnU-Net result folder, not a voxseg bundle; use --nnunet '{}'", path, path);
  const models::ModelBundle bundle = models::load_bundle(dir, device, precision);
  std::shared_ptr<models::Network> net = models::make_network(bundle);
  return model_from_bundle(bundle, std::move(net));
}

}  // namespace voxseg::infer
