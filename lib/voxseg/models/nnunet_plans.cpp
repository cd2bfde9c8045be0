// Parsing nnU-Net's plans.json and dataset.json (and a result folder's layout and checkpoints) into
// the structs of nnunet_plans.h. Converting a configuration to voxseg's U-Net is in
// nnunet_unet_config.cpp.
#include "voxseg/models/nnunet_plans.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "voxseg/core/error.h"
#include "voxseg/models/detail/json_fields.h"
#include "voxseg/models/detail/nnunet_common.h"

namespace voxseg::models::nnunet {
namespace {

namespace fs = std::filesystem;
using detail::as_bad_model;
using detail::field_error;
using detail::index_field;
using detail::join_field;
using detail::short_name;

using json::read_bool_list;
using json::read_string_list;

ResamplingKwargs read_resampling(const Json* v, const std::string& field, ResamplingKwargs defaults) {
  if (!v || v->is_null()) return defaults;
  detail::require_object(*v, field);
  ResamplingKwargs r = defaults;
  if (const Json* x = v->find("is_seg")) r.is_seg = detail::read_bool(*x, join_field(field, "is_seg"));
  if (const Json* x = v->find("order")) r.order = int(detail::read_int(*x, join_field(field, "order")));
  if (const Json* x = v->find("order_z")) r.order_z = int(detail::read_int(*x, join_field(field, "order_z")));
  if (const Json* x = v->find("force_separate_z"); x && !x->is_null()) {
    r.force_separate_z = detail::read_bool(*x, join_field(field, "force_separate_z"));
  }
  return r;
}

std::string optional_string(const Json& obj, std::string_view key, const std::string& path, std::string fallback) {
  const Json* v = obj.find(key);
  return (v && !v->is_null()) ? detail::read_string(*v, join_field(path, key)) : fallback;
}

// Plans written before nnU-Net v2.2 have no "architecture"; rebuild it as nnU-Net's
// ConfigurationManager does (PlainConvUNet / ResidualEncoderUNet from the flat fields).
Json legacy_architecture(const Json& c, const std::string& path, int dims) {
  const std::string cls = detail::read_string(detail::require_member(c, "UNet_class_name", path),
                                              join_field(path, "UNet_class_name"));
  const auto enc = detail::read_int_list(detail::require_member(c, "n_conv_per_stage_encoder", path),
                                         join_field(path, "n_conv_per_stage_encoder"));
  const int64_t base = detail::read_int(detail::require_member(c, "UNet_base_num_features", path),
                                        join_field(path, "UNet_base_num_features"));
  const int64_t max_features = detail::read_int(detail::require_member(c, "unet_max_num_features", path),
                                                join_field(path, "unet_max_num_features"));
  Json kwargs = Json::object();
  kwargs["n_stages"] = int64_t(enc.size());
  Json features = Json::array();
  for (size_t i = 0; i < enc.size() && i < 62; ++i) features.push_back(std::min(base << i, max_features));
  kwargs["features_per_stage"] = features;
  kwargs["conv_op"] = dims == 2 ? "torch.nn.modules.conv.Conv2d" : "torch.nn.modules.conv.Conv3d";
  kwargs["kernel_sizes"] = detail::require_member(c, "conv_kernel_sizes", path);
  kwargs["strides"] = detail::require_member(c, "pool_op_kernel_sizes", path);
  Json enc_json = Json::array();
  for (int64_t n : enc) enc_json.push_back(n);
  kwargs[cls == "PlainConvUNet" ? "n_conv_per_stage" : "n_blocks_per_stage"] = enc_json;
  kwargs["n_conv_per_stage_decoder"] = detail::require_member(c, "n_conv_per_stage_decoder", path);
  kwargs["conv_bias"] = true;
  kwargs["norm_op"] = dims == 2 ? "torch.nn.modules.instancenorm.InstanceNorm2d"
                                : "torch.nn.modules.instancenorm.InstanceNorm3d";
  kwargs["norm_op_kwargs"]["eps"] = 1e-5;
  kwargs["norm_op_kwargs"]["affine"] = true;
  kwargs["dropout_op"] = nullptr;
  kwargs["nonlin"] = "torch.nn.LeakyReLU";
  kwargs["nonlin_kwargs"]["inplace"] = true;
  Json arch = Json::object();
  arch["network_class_name"] = cls == "PlainConvUNet"
                                   ? "dynamic_network_architectures.architectures.unet.PlainConvUNet"
                                   : "dynamic_network_architectures.architectures.residual_unet." + cls;
  arch["arch_kwargs"] = kwargs;
  return arch;
}

Configuration parse_configuration(const std::string& name, const Json& c, const std::string& path) {
  detail::require_object(c, path);
  Configuration out;
  out.name = name;
  auto get = [&](std::string_view key) -> const Json& { return detail::require_member(c, key, path); };
  out.patch_size = detail::read_int_list(get("patch_size"), join_field(path, "patch_size"));
  out.dims = int(out.patch_size.size());
  if (out.dims != 2 && out.dims != 3) {
    field_error(join_field(path, "patch_size"), fmt::format("expected 2 or 3 axes, found {}", out.dims));
  }
  for (size_t a = 0; a < out.patch_size.size(); ++a) {
    if (out.patch_size[a] < 1) field_error(index_field(join_field(path, "patch_size"), a), "must be positive");
  }
  out.spacing = detail::read_number_list(get("spacing"), join_field(path, "spacing"), out.dims);
  for (size_t a = 0; a < out.spacing.size(); ++a) {
    if (!(out.spacing[a] > 0)) field_error(index_field(join_field(path, "spacing"), a), "must be positive");
  }
  out.normalization_schemes = read_string_list(get("normalization_schemes"), join_field(path, "normalization_schemes"));
  out.use_mask_for_norm = read_bool_list(get("use_mask_for_norm"), join_field(path, "use_mask_for_norm"));
  if (out.use_mask_for_norm.size() != out.normalization_schemes.size()) {
    field_error(join_field(path, "use_mask_for_norm"),
                fmt::format("has {} entries but normalization_schemes has {}", out.use_mask_for_norm.size(),
                            out.normalization_schemes.size()));
  }
  if (const Json* v = c.find("batch_size")) out.batch_size = detail::read_int(*v, join_field(path, "batch_size"));
  if (const Json* v = c.find("batch_dice")) out.batch_dice = detail::read_bool(*v, join_field(path, "batch_dice"));
  const std::string kDefaultResampling = "resample_data_or_seg_to_shape";
  out.resampling_fn_data = optional_string(c, "resampling_fn_data", path, kDefaultResampling);
  out.resampling_fn_seg = optional_string(c, "resampling_fn_seg", path, kDefaultResampling);
  out.resampling_fn_probabilities = optional_string(c, "resampling_fn_probabilities", path, kDefaultResampling);
  out.resampling_data = read_resampling(c.find("resampling_fn_data_kwargs"),
                                        join_field(path, "resampling_fn_data_kwargs"), {false, 3, 0, {}});
  out.resampling_seg = read_resampling(c.find("resampling_fn_seg_kwargs"),
                                       join_field(path, "resampling_fn_seg_kwargs"), {true, 1, 0, {}});
  out.resampling_probabilities =
      read_resampling(c.find("resampling_fn_probabilities_kwargs"),
                      join_field(path, "resampling_fn_probabilities_kwargs"), {false, 1, 0, {}});

  const Json* arch = c.find("architecture");
  const Json legacy = (arch == nullptr) ? legacy_architecture(c, path, out.dims) : Json();
  if (!arch) arch = &legacy;
  const std::string arch_path = join_field(path, "architecture");
  detail::require_object(*arch, arch_path);
  out.network_class_name = detail::read_string(detail::require_member(*arch, "network_class_name", arch_path),
                                               join_field(arch_path, "network_class_name"));
  out.arch_kwargs = detail::require_member(*arch, "arch_kwargs", arch_path);
  detail::require_object(out.arch_kwargs, join_field(arch_path, "arch_kwargs"));

  if (const Json* v = c.find("previous_stage"); v && !v->is_null()) {
    out.previous_stage = detail::read_string(*v, join_field(path, "previous_stage"));
  }
  if (const Json* v = c.find("next_stage"); v && !v->is_null()) {
    out.next_stages = v->is_string() ? std::vector<std::string>{v->as_string()}
                                     : read_string_list(*v, join_field(path, "next_stage"));
  }
  return out;
}

// "0", "1", ... -> index; the keys must be exactly 0..n-1.
int64_t channel_index(const std::string& key, const std::string& field) {
  if (key.empty() || key.size() > 6 || key.find_first_not_of("0123456789") != std::string::npos) {
    field_error(field, fmt::format("channel key '{}' is not a number", key));
  }
  return std::stoll(key);
}

std::vector<int64_t> read_permutation(const Json& v, const std::string& field) {
  auto p = detail::read_int_list(v, field);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != int64_t(i)) field_error(field, "expected a permutation of 0..n-1");
  }
  return p;
}

}  // namespace

std::string Configuration::network_short_name() const { return short_name(network_class_name); }

Configuration Plans::configuration(const std::string& name) const {
  return as_bad_model("plans", path, [&] {
    const Json& configs = detail::require_member(raw, "configurations", "");
    std::vector<std::string> chain;
    Json merged = Json::object();
    std::vector<const Json*> levels;  // child first
    for (std::string current = name;;) {
      if (std::find(chain.begin(), chain.end(), current) != chain.end()) {
        field_error("configurations." + name, fmt::format("inherits_from forms a cycle ({} -> {})",
                                                          fmt::join(chain, " -> "), current));
      }
      chain.push_back(current);
      const Json* c = configs.find(current);
      if (!c) {
        if (chain.size() == 1) {
          throw std::invalid_argument(fmt::format("no configuration '{}' (available: {})", name,
                                                  fmt::join(configuration_names, ", ")));
        }
        field_error("configurations." + chain[chain.size() - 2] + ".inherits_from",
                    fmt::format("unknown configuration '{}'", current));
      }
      detail::require_object(*c, "configurations." + current);
      levels.push_back(c);
      const Json* parent = c->find("inherits_from");
      if (!parent || parent->is_null()) break;
      current = detail::read_string(*parent, "configurations." + current + ".inherits_from");
    }
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) {  // parent first, child overrides
      for (const auto& [key, value] : (*it)->as_object()) merged[key] = value;
    }
    return parse_configuration(name, merged, "configurations." + name);
  });
}

Plans parse_plans(const Json& json, const std::string& path) {
  return as_bad_model("plans", path, [&] {
    detail::require_object(json, "");
    Plans p;
    p.path = path;
    p.raw = json;
    p.dataset_name = optional_string(json, "dataset_name", "", "");
    p.plans_name = optional_string(json, "plans_name", "", "");
    p.image_reader_writer = optional_string(json, "image_reader_writer", "", "");
    p.label_manager = optional_string(json, "label_manager", "", "LabelManager");
    p.transpose_forward = read_permutation(detail::require_member(json, "transpose_forward", ""), "transpose_forward");
    p.transpose_backward = read_permutation(detail::require_member(json, "transpose_backward", ""), "transpose_backward");
    if (p.transpose_forward.size() != p.transpose_backward.size()) {
      field_error("transpose_backward", "differs in length from transpose_forward");
    }
    for (size_t i = 0; i < p.transpose_forward.size(); ++i) {  // backward must undo forward
      if (p.transpose_backward[size_t(p.transpose_forward[i])] != int64_t(i)) {
        field_error("transpose_backward", "is not the inverse of transpose_forward");
      }
    }
    const Json& configs = detail::require_member(json, "configurations", "");
    detail::require_object(configs, "configurations");
    for (const auto& [name, value] : configs.as_object()) p.configuration_names.push_back(name);
    if (p.configuration_names.empty()) field_error("configurations", "holds no configuration");
    const Json* fg = json.find("foreground_intensity_properties_per_channel");
    if (!fg) fg = json.find("foreground_intensity_properties_by_modality");  // older plans
    if (fg && !fg->is_null()) {
      const std::string field = "foreground_intensity_properties_per_channel";
      detail::require_object(*fg, field);
      for (const auto& [key, value] : fg->as_object()) {
        const std::string f = join_field(field, key);
        p.foreground_intensity_properties[channel_index(key, f)] = preprocess::intensity_properties_from_json(value, f, /*reject_unknown=*/false);
      }
    }
    // Validate every configuration now, so a broken plans file fails when it is opened.
    for (const auto& name : p.configuration_names) (void)p.configuration(name);
    return p;
  });
}

Plans read_plans(const std::string& path) { return parse_plans(read_json_file(path, ExitCode::BadModel), path); }

bool DatasetInfo::has_regions() const {
  return std::any_of(labels.begin(), labels.end(), [](const Label& l) { return l.values.size() > 1; });
}

std::vector<int64_t> DatasetInfo::all_labels() const {
  std::set<int64_t> values;
  for (const auto& l : labels) values.insert(l.values.begin(), l.values.end());
  return {values.begin(), values.end()};
}

std::vector<std::vector<int64_t>> DatasetInfo::foreground_regions() const {
  std::vector<std::vector<int64_t>> out;
  if (!has_regions()) {
    for (int64_t v : all_labels()) {
      if (v != 0) out.push_back({v});
    }
    return out;
  }
  for (const auto& l : labels) {
    const bool background = std::all_of(l.values.begin(), l.values.end(), [](int64_t v) { return v == 0; });
    if (!background) out.push_back(l.values);
  }
  return out;
}

int64_t DatasetInfo::num_segmentation_heads() const {
  return has_regions() ? int64_t(foreground_regions().size()) : int64_t(all_labels().size());
}

DatasetInfo parse_dataset_json(const Json& json, const std::string& path) {
  return as_bad_model("dataset.json", path, [&] {
    detail::require_object(json, "");
    DatasetInfo d;
    const char* channel_key = json.find("channel_names") ? "channel_names" : "modality";  // v1 name
    const Json& channels = detail::require_member(json, channel_key, "");
    detail::require_object(channels, channel_key);
    std::map<int64_t, std::string> by_index;
    for (const auto& [key, value] : channels.as_object()) {
      const std::string f = join_field("channel_names", key);
      by_index[channel_index(key, f)] = detail::read_string(value, f);
    }
    for (const auto& [index, name] : by_index) {
      if (index != int64_t(d.channel_names.size())) {
        field_error("channel_names", fmt::format("channel {} is missing", d.channel_names.size()));
      }
      d.channel_names.push_back(name);
    }
    if (d.channel_names.empty()) field_error("channel_names", "declares no channel");

    const Json& labels = detail::require_member(json, "labels", "");
    detail::require_object(labels, "labels");
    for (const auto& [name, value] : labels.as_object()) {
      const std::string f = join_field("labels", name);
      if (name == "ignore") {
        d.ignore_label = detail::read_int(value, f);
        continue;
      }
      Label l{name, value.is_array() ? detail::read_int_list(value, f) : std::vector<int64_t>{detail::read_int(value, f)}};
      if (l.values.empty()) field_error(f, "is an empty region");
      for (int64_t v : l.values) {
        if (v < 0) field_error(f, "label values must not be negative");
      }
      d.labels.push_back(std::move(l));
    }
    auto bg = std::find_if(d.labels.begin(), d.labels.end(), [](const Label& l) { return l.name == "background"; });
    if (bg == d.labels.end()) field_error("labels", "no 'background' label (it must be 0)");
    if (bg->values != std::vector<int64_t>{0}) field_error("labels.background", "must be 0");
    if (d.ignore_label) {
      const auto all = d.all_labels();
      if (*d.ignore_label != all.back() + 1) {
        field_error("labels.ignore", fmt::format("must be the highest label ({}), found {}", all.back() + 1,
                                                 *d.ignore_label));
      }
    }
    if (const Json* order = json.find("regions_class_order"); order && !order->is_null()) {
      d.regions_class_order = detail::read_int_list(*order, "regions_class_order");
    }
    if (d.has_regions() && d.regions_class_order.size() != d.foreground_regions().size()) {
      field_error("regions_class_order", fmt::format("needs one entry per region ({}), found {}",
                                                     d.foreground_regions().size(), d.regions_class_order.size()));
    }
    d.file_ending = detail::read_string(detail::require_member(json, "file_ending", ""), "file_ending");
    if (const Json* n = json.find("numTraining")) d.num_training = detail::read_int(*n, "numTraining");
    return d;
  });
}

DatasetInfo read_dataset_json(const std::string& path) {
  return parse_dataset_json(read_json_file(path, ExitCode::BadModel), path);
}

TrainedCheckpoint read_checkpoint(const std::string& pth_path) {
  const checkpoint::ValuePtr root = checkpoint::read_pth(pth_path);
  try {
    TrainedCheckpoint out;
    if (!root->is(checkpoint::Value::Kind::Dict)) {
      fail(ExitCode::BadModel, "expected the dict nnU-Net's trainer saves, found {}", root->type_name());
    }
    out.weights = checkpoint::state_dict(*root, {"network_weights", false});
    if (const auto* axes = root->find("inference_allowed_mirroring_axes"); axes && !axes->is_none()) {
      std::vector<int64_t> v;
      for (const auto& a : axes->items()) v.push_back(a->as_int());
      out.mirror_axes = v;
    }
    if (const auto* t = root->find("trainer_name"); t && t->is(checkpoint::Value::Kind::String)) {
      out.trainer_name = t->as_string();
    }
    if (const auto* init = root->find("init_args")) {
      if (const auto* c = init->find("configuration"); c && c->is(checkpoint::Value::Kind::String)) {
        out.configuration = c->as_string();
      }
    }
    if (const auto* e = root->find("current_epoch"); e && e->is(checkpoint::Value::Kind::Int)) {
      out.epoch = e->as_int();
    }
    return out;
  } catch (const Error& e) {
    fail(ExitCode::BadModel, "invalid nnU-Net checkpoint '{}': {}", pth_path, e.what());
  }
}

std::vector<Fold> list_folds(const std::string& dir) {
  std::vector<std::pair<int64_t, Fold>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("fold_", 0) != 0 || !it->is_directory(ec)) continue;
    const std::string suffix = name.substr(5);
    int64_t order;
    if (suffix == "all") {
      order = INT64_MAX;
    } else if (!suffix.empty() && suffix.size() < 10 && suffix.find_first_not_of("0123456789") == std::string::npos) {
      order = std::stoll(suffix);
    } else {
      continue;
    }
    Fold f{name, it->path().string(), {}};
    for (fs::directory_iterator c(it->path(), ec), cend; !ec && c != cend; c.increment(ec)) {
      if (c->path().extension() == ".pth" && c->is_regular_file(ec)) f.checkpoints.push_back(c->path().filename().string());
    }
    std::sort(f.checkpoints.begin(), f.checkpoints.end());
    found.emplace_back(order, std::move(f));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Fold> out;
  for (auto& [order, f] : found) out.push_back(std::move(f));
  return out;
}

ResultFolder open_result_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ExitCode::BadModel, "nnU-Net result folder '{}' does not exist", dir);
  for (const char* file : {"plans.json", "dataset.json"}) {
    if (!fs::exists(fs::path(dir) / file, ec)) {
      fail(ExitCode::BadModel, "'{}' is not an nnU-Net result folder: {} is missing", dir, file);
    }
  }
  ResultFolder r;
  r.dir = dir;
  r.plans = read_plans((fs::path(dir) / "plans.json").string());
  r.dataset = read_dataset_json((fs::path(dir) / "dataset.json").string());
  r.folds = list_folds(dir);
  std::string base = fs::path(dir).lexically_normal().filename().string();
  if (base.empty()) base = fs::path(dir).lexically_normal().parent_path().filename().string();
  const size_t a = base.find("__");
  const size_t b = a == std::string::npos ? a : base.find("__", a + 2);
  if (b != std::string::npos) {
    r.trainer = base.substr(0, a);
    r.plans_identifier = base.substr(a + 2, b - a - 2);
    r.configuration = base.substr(b + 2);
  }
  return r;
}

}  // namespace voxseg::models::nnunet
