#include "voxseg/models/bundle.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/sha256.h"
#include "voxseg/models/detail/json_fields.h"
#include "voxseg/models/unet.h"

namespace fs = std::filesystem;

namespace voxseg::models {

using detail::field_error;
using detail::index_field;
using detail::join_field;

namespace {

constexpr int kSchemaVersion = 1;

LabelSpec parse_label(const Json& j, const std::string& path) {
  detail::require_object(j, path);
  detail::reject_unknown_members(j, {"id", "name", "color", "snomed"}, path);
  const auto field = [&](std::string_view key) { return join_field(path, key); };
  LabelSpec l;
  l.id = detail::read_int(detail::require_member(j, "id", path), field("id"));
  if (l.id < 0 || l.id > 65535) field_error(field("id"), fmt::format("must be in 0..65535, found {}", l.id));
  l.name = detail::read_string(detail::require_member(j, "name", path), field("name"));
  if (l.name.empty()) field_error(field("name"), "must not be empty");
  if (const Json* c = j.find("color"); c && !c->is_null()) {
    const auto rgb = detail::read_int_list(*c, field("color"), 3);
    std::array<int, 3> color{};
    for (size_t i = 0; i < 3; ++i) {
      if (rgb[i] < 0 || rgb[i] > 255)
        field_error(index_field(field("color"), i), fmt::format("must be in 0..255, found {}", rgb[i]));
      color[i] = int(rgb[i]);
    }
    l.color = color;
  }
  if (const Json* s = j.find("snomed"); s && !s->is_null()) {
    const std::string sp = field("snomed");
    detail::require_object(*s, sp);
    detail::reject_unknown_members(*s, {"code", "scheme", "meaning"}, sp);
    CodedConcept concept_;
    concept_.code = detail::read_string(detail::require_member(*s, "code", sp), join_field(sp, "code"));
    if (concept_.code.empty()) field_error(join_field(sp, "code"), "must not be empty");
    if (const Json* v = s->find("scheme")) concept_.scheme = detail::read_string(*v, join_field(sp, "scheme"));
    concept_.meaning = detail::read_string(detail::require_member(*s, "meaning", sp), join_field(sp, "meaning"));
    l.snomed = concept_;
  }
  return l;
}

void parse_into(const Json& root, ModelBundle& b) {
  detail::require_object(root, "(top level)");
  detail::reject_unknown_members(
      root,
      {"schema_version", "name", "description", "dims", "architecture", "weights", "channels", "labels",
       "allow_noncontiguous_ids", "target_spacing", "patch_size", "mirror_axes", "crop_to_nonzero", "slice_axis",
       "postprocess", "training"},
      "");
  const auto get = [&](std::string_view key) -> const Json& { return detail::require_member(root, key, ""); };
  const auto opt = [&](std::string_view key) -> const Json* {
    const Json* v = root.find(key);
    return v && !v->is_null() ? v : nullptr;
  };

  b.schema_version = int(detail::read_int(get("schema_version"), "schema_version"));
  if (b.schema_version != kSchemaVersion)
    field_error("schema_version",
                fmt::format("unsupported version {} (this voxseg reads version {})", b.schema_version, kSchemaVersion));
  b.name = detail::read_string(get("name"), "name");
  if (b.name.empty()) field_error("name", "must not be empty");
  if (const Json* v = opt("description")) b.description = detail::read_string(*v, "description");
  b.dims = int(detail::read_int(get("dims"), "dims"));
  if (b.dims != 2 && b.dims != 3) field_error("dims", fmt::format("expected 2 or 3, found {}", b.dims));

  // Architecture.
  const Json& arch = get("architecture");
  detail::require_object(arch, "architecture");
  b.architecture.type = detail::read_string(detail::require_member(arch, "type", "architecture"), "architecture.type");
  if (b.architecture.type == "unet") {
    b.architecture.unet = parse_unet_config(arch, "architecture");
    if (b.architecture.unet.dims != b.dims)
      field_error("architecture.dims",
                  fmt::format("the U-Net is {}D but the bundle's dims is {}", b.architecture.unet.dims, b.dims));
    b.weights = detail::read_string(get("weights"), "weights");
    if (b.weights.empty()) field_error("weights", "must not be empty");
  } else if (b.architecture.type == "torchscript") {
    detail::reject_unknown_members(arch, {"type", "file"}, "architecture");
    b.architecture.file =
        detail::read_string(detail::require_member(arch, "file", "architecture"), "architecture.file");
    if (b.architecture.file.empty()) field_error("architecture.file", "must not be empty");
    if (opt("weights"))
      field_error("weights", "not used by a TorchScript model (its parameters are inside architecture.file)");
    b.weights.clear();
  } else {
    field_error("architecture.type",
                fmt::format("expected \"unet\" or \"torchscript\", found \"{}\"", b.architecture.type));
  }

  // Channels.
  const Json& channels = get("channels");
  if (!channels.is_array() || channels.size() == 0)
    field_error("channels", "expected a non-empty list of {\"name\", \"normalization\"} objects");
  for (size_t i = 0; i < channels.size(); ++i) {
    const std::string path = index_field("channels", i);
    const Json& c = channels.as_array()[i];
    detail::require_object(c, path);
    detail::reject_unknown_members(c, {"name", "normalization"}, path);
    ChannelSpec spec;
    spec.name = detail::read_string(detail::require_member(c, "name", path), join_field(path, "name"));
    spec.normalization = preprocess::normalization_from_json(detail::require_member(c, "normalization", path),
                                                             join_field(path, "normalization"));
    b.channels.push_back(std::move(spec));
  }
  if (b.architecture.type == "unet" && b.in_channels() != b.architecture.unet.in_channels)
    field_error("channels", fmt::format("{} channel(s) listed but architecture.in_channels is {}", b.in_channels(),
                                        b.architecture.unet.in_channels));

  // Labels.
  if (const Json* v = opt("allow_noncontiguous_ids"))
    b.allow_noncontiguous_ids = detail::read_bool(*v, "allow_noncontiguous_ids");
  const Json& labels = get("labels");
  if (!labels.is_array() || labels.size() == 0)
    field_error("labels", "expected a non-empty list of {\"id\", \"name\"} objects");
  std::set<int64_t> ids;
  std::set<std::string> names;
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string path = index_field("labels", i);
    LabelSpec l = parse_label(labels.as_array()[i], path);
    if (!ids.insert(l.id).second) field_error(join_field(path, "id"), fmt::format("duplicate label id {}", l.id));
    if (!names.insert(l.name).second)
      field_error(join_field(path, "name"), fmt::format("duplicate label name \"{}\"", l.name));
    if (!b.allow_noncontiguous_ids && l.id != int64_t(i))
      field_error(join_field(path, "id"),
                  fmt::format("expected {} (ids must be 0, 1, 2, ... in output-channel order unless "
                              "allow_noncontiguous_ids is true), found {}",
                              i, l.id));
    b.labels.push_back(std::move(l));
  }
  if (b.architecture.type == "unet" && b.num_classes() != b.architecture.unet.num_classes)
    field_error("labels", fmt::format("{} label(s) listed but architecture.num_classes is {}", b.num_classes(),
                                      b.architecture.unet.num_classes));

  // Geometry of inference.
  if (const Json* v = opt("slice_axis")) {
    b.slice_axis = int(detail::read_int(*v, "slice_axis"));
    if (b.slice_axis < 0 || b.slice_axis > 2) field_error("slice_axis", fmt::format("expected 0, 1 or 2, found {}", b.slice_axis));
    if (b.dims == 3 && b.slice_axis != 0) field_error("slice_axis", "only meaningful for 2D models (dims 2)");
  }
  if (const Json* v = opt("target_spacing")) {
    b.target_spacing = detail::read_number_list(*v, "target_spacing", b.dims);
    for (size_t a = 0; a < b.target_spacing.size(); ++a)
      if (!(b.target_spacing[a] > 0))
        field_error(index_field("target_spacing", a), fmt::format("must be positive, found {}", b.target_spacing[a]));
  }
  b.patch_size = detail::read_int_list(get("patch_size"), "patch_size", b.dims);
  for (size_t a = 0; a < b.patch_size.size(); ++a)
    if (b.patch_size[a] < 1)
      field_error(index_field("patch_size", a), fmt::format("must be positive, found {}", b.patch_size[a]));
  if (b.architecture.type == "unet") {
    const auto factors = total_strides(b.architecture.unet);
    for (size_t a = 0; a < b.patch_size.size(); ++a)
      if (b.patch_size[a] % factors[a] != 0)
        field_error(index_field("patch_size", a),
                    fmt::format("{} is not a multiple of {}, the product of the strides on this axis",
                                b.patch_size[a], factors[a]));
  }
  b.mirror_axes.clear();
  if (const Json* v = opt("mirror_axes")) {
    b.mirror_axes = detail::read_int_list(*v, "mirror_axes");
    std::set<int64_t> seen;
    for (size_t i = 0; i < b.mirror_axes.size(); ++i) {
      const int64_t a = b.mirror_axes[i];
      if (a < 0 || a >= b.dims)
        field_error(index_field("mirror_axes", i), fmt::format("axis {} outside 0..{}", a, b.dims - 1));
      if (!seen.insert(a).second) field_error(index_field("mirror_axes", i), fmt::format("duplicate axis {}", a));
    }
  } else {
    for (int a = 0; a < b.dims; ++a) b.mirror_axes.push_back(a);
  }
  if (const Json* v = opt("crop_to_nonzero")) b.crop_to_nonzero = detail::read_bool(*v, "crop_to_nonzero");
  if (const Json* v = opt("postprocess")) {
    detail::require_object(*v, "postprocess");
    b.postprocess = *v;
  }
  if (const Json* v = opt("training")) {
    detail::require_object(*v, "training");
    b.training = *v;
  }
}

// A file named by model.json must stay inside the bundle folder (no absolute paths or "..").
void check_relative_file(const std::string& name, const std::string& field) {
  const fs::path p(name);
  if (p.is_absolute()) field_error(field, fmt::format("'{}' must be a file name relative to the bundle", name));
  for (const auto& part : p)
    if (part == "..") field_error(field, fmt::format("'{}' must stay inside the bundle folder", name));
}

}  // namespace

std::string ModelBundle::id() const {
  return weights_sha256.empty() ? name : name + "@" + weights_sha256.substr(0, 12);
}

fs::path ModelBundle::weights_path() const {
  return dir / (architecture.type == "torchscript" ? architecture.file : weights);
}

ModelBundle parse_bundle_json(const Json& json, const std::string& file) {
  ModelBundle b;
  try {
    parse_into(json, b);
    if (b.architecture.type == "torchscript")
      check_relative_file(b.architecture.file, "architecture.file");
    else
      check_relative_file(b.weights, "weights");
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadModel, "invalid model '{}': {}", file, e.what());
  }
  return b;
}

ModelBundle load_bundle(const fs::path& dir, const std::string& device, Precision precision) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(ExitCode::BadModel, "model bundle '{}' does not exist", dir.string());
  if (!fs::is_directory(dir, ec))
    fail(ExitCode::BadModel, "model bundle '{}' is not a folder (expected a folder with model.json)", dir.string());
  const fs::path json_path = dir / "model.json";
  if (!fs::is_regular_file(json_path, ec))
    fail(ExitCode::BadModel, "model bundle '{}' has no model.json", dir.string());
  ModelBundle b = parse_bundle_json(read_json_file(json_path.string(), ExitCode::BadModel), json_path.string());
  b.dir = dir;
  const fs::path weights = b.weights_path();
  const char* field = b.architecture.type == "torchscript" ? "architecture.file" : "weights";
  if (!fs::is_regular_file(weights, ec))
    fail(ExitCode::BadModel, "invalid model '{}': field '{}': file '{}' not found", json_path.string(), field,
         weights.string());
  b.weights_sha256 = sha256_file(weights, ExitCode::BadModel);
  b.device = resolve_device(device);
  check_precision(precision, b.device);
  b.precision = precision;
  return b;
}

Json bundle_to_json(const ModelBundle& b) {
  Json j = Json::object();
  j["schema_version"] = b.schema_version;
  j["name"] = b.name;
  if (!b.description.empty()) j["description"] = b.description;
  j["dims"] = b.dims;
  if (b.architecture.type == "torchscript") {
    Json arch = Json::object();
    arch["type"] = "torchscript";
    arch["file"] = b.architecture.file;
    j["architecture"] = arch;
  } else {
    j["architecture"] = unet_config_to_json(b.architecture.unet);
    j["weights"] = b.weights;
  }
  Json channels = Json::array();
  for (const auto& c : b.channels) {
    Json cj = Json::object();
    cj["name"] = c.name;
    cj["normalization"] = preprocess::normalization_to_json(c.normalization);
    channels.push_back(cj);
  }
  j["channels"] = channels;
  Json labels = Json::array();
  for (const auto& l : b.labels) {
    Json lj = Json::object();
    lj["id"] = l.id;
    lj["name"] = l.name;
    if (l.color) lj["color"] = json::array_of(*l.color);
    if (l.snomed) {
      Json s = Json::object();
      s["code"] = l.snomed->code;
      s["scheme"] = l.snomed->scheme;
      s["meaning"] = l.snomed->meaning;
      lj["snomed"] = s;
    }
    labels.push_back(lj);
  }
  j["labels"] = labels;
  if (b.allow_noncontiguous_ids) j["allow_noncontiguous_ids"] = true;
  if (!b.target_spacing.empty()) j["target_spacing"] = json::array_of(b.target_spacing);
  j["patch_size"] = json::array_of(b.patch_size);
  j["mirror_axes"] = json::array_of(b.mirror_axes);
  j["crop_to_nonzero"] = b.crop_to_nonzero;
  if (b.dims == 2) j["slice_axis"] = b.slice_axis;
  if (b.postprocess.is_object()) j["postprocess"] = b.postprocess;
  if (b.training.is_object()) j["training"] = b.training;
  return j;
}

ModelBundle save_bundle(const fs::path& dir, const ModelBundle& spec, const UNet& net, bool overwrite) {
  if (spec.architecture.type != "unet")
    fail(ExitCode::Usage, "save_bundle writes native U-Net bundles only (architecture type '{}')",
         spec.architecture.type);
  if (unet_config_to_json(spec.architecture.unet).dump() != unet_config_to_json(net.config()).dump())
    fail(ExitCode::Usage, "save_bundle: the bundle's architecture does not describe the network being saved");
  const Json json = bundle_to_json(spec);
  const fs::path json_path = dir / "model.json";
  ModelBundle checked = parse_bundle_json(json, json_path.string());  // never write what load would refuse
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot create model folder '{}': {}", dir.string(), ec.message());
  check_output_path(json_path, overwrite);
  write_weights(net, dir / spec.weights, /*overwrite=*/true);
  write_text_atomic(json_path, json.dump(2) + "\n", overwrite);
  checked.dir = dir;
  checked.weights_sha256 = sha256_file(checked.weights_path(), ExitCode::CannotWrite);
  checked.device = spec.device;
  checked.precision = spec.precision;
  return checked;
}

}  // namespace voxseg::models
