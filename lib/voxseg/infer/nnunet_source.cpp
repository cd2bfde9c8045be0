#include "voxseg/infer/nnunet_source.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"
#include "voxseg/io/seg_labels.h"
#include "voxseg/models/bundle.h"

namespace fs = std::filesystem;

namespace voxseg::infer {
namespace {

namespace nn = models::nnunet;

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? "none" : s;
}

preprocess::ResampleOptions resampling(const std::string& function, const nn::ResamplingKwargs& kwargs,
                                       const std::string& what, const std::string& path) {
  // nnU-Net's default; other functions (torch-based resampling of newer presets) differ numerically.
  if (function != "resample_data_or_seg_to_shape")
    fail(ExitCode::BadModel, "nnU-Net plans '{}': {} function '{}' is not supported (voxseg implements "
         "resample_data_or_seg_to_shape)", path, what, function);
  preprocess::ResampleOptions o;
  o.order = kwargs.order;
  o.order_z = kwargs.order_z;
  o.force_separate_z = kwargs.force_separate_z;
  if ((o.order != 0 && o.order != 1 && o.order != 3) || (o.order_z != 0 && o.order_z != 1 && o.order_z != 3))
    fail(ExitCode::BadModel, "nnU-Net plans '{}': {} order {} / order_z {} (voxseg supports 0, 1 and 3)", path, what,
         o.order, o.order_z);
  return o;
}

// Which fold folders to load, in order.
std::vector<nn::Fold> pick_folds(const nn::ResultFolder& folder, const NnunetSelection& sel) {
  std::vector<std::string> available;
  for (const auto& f : folder.folds) available.push_back(f.name);
  std::vector<nn::Fold> picked;
  if (sel.folds.empty()) {  // nnU-Net's auto-detection: every fold_N holding the checkpoint, not fold_all
    for (const auto& f : folder.folds)
      if (f.name != "fold_all" &&
          std::find(f.checkpoints.begin(), f.checkpoints.end(), sel.checkpoint) != f.checkpoints.end())
        picked.push_back(f);
    if (picked.empty())
      for (const auto& f : folder.folds)  // only a fold_all was trained
        if (f.name == "fold_all") picked.push_back(f);
    if (picked.empty()) {
      std::vector<std::string> held;
      for (const auto& f : folder.folds) held.push_back(f.name + ": " + join(f.checkpoints));
      fail(ExitCode::BadModel, "nnU-Net folder '{}': no fold has {} ({})", folder.dir, sel.checkpoint,
           held.empty() ? std::string("no fold_N folders") : join(held));
    }
    return picked;
  }
  for (const auto& want : sel.folds) {
    const std::string name = "fold_" + want;
    auto it = std::find_if(folder.folds.begin(), folder.folds.end(), [&](const nn::Fold& f) { return f.name == name; });
    if (it == folder.folds.end())
      fail(ExitCode::BadModel, "nnU-Net folder '{}' has no {} (folds: {})", folder.dir, name, join(available));
    if (std::any_of(picked.begin(), picked.end(), [&](const nn::Fold& f) { return f.name == name; }))
      fail(ExitCode::Usage, "fold {} is listed twice", want);
    picked.push_back(*it);
  }
  for (const auto& f : picked)
    if (std::find(f.checkpoints.begin(), f.checkpoints.end(), sel.checkpoint) == f.checkpoints.end())
      fail(ExitCode::BadModel, "nnU-Net folder '{}': {} has no {} (it has: {})", folder.dir, f.name, sel.checkpoint,
           join(f.checkpoints));
  return picked;
}

std::string pick_configuration(const nn::ResultFolder& folder, const NnunetSelection& sel,
                               const nn::TrainedCheckpoint& first) {
  const std::string& trained = !folder.configuration.empty() ? folder.configuration : first.configuration;
  if (!sel.configuration.empty() && !trained.empty() && sel.configuration != trained)
    fail(ExitCode::Usage, "--configuration {} does not match '{}', which holds a {} model", sel.configuration,
         folder.dir, trained);
  if (!sel.configuration.empty()) return sel.configuration;
  if (!trained.empty()) return trained;
  const auto& names = folder.plans.configuration_names;
  if (names.size() == 1) return names.front();
  if (std::find(names.begin(), names.end(), "3d_fullres") != names.end()) return "3d_fullres";
  fail(ExitCode::BadModel, "nnU-Net folder '{}': say which configuration it holds with --configuration ({})",
       folder.dir, join(names));
}

}  // namespace

std::string resolve_nnunet_folder(const std::string& dir, const std::string& configuration) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(ExitCode::BadModel, "nnU-Net folder '{}' does not exist", dir);
  if (fs::exists(fs::path(dir) / "plans.json", ec)) return dir;
  const std::string want = configuration.empty() ? "3d_fullres" : configuration;
  std::vector<std::string> matches, others;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t a = name.find("__");
    const size_t b = a == std::string::npos ? a : name.find("__", a + 2);
    if (b == std::string::npos || !fs::exists(it->path() / "plans.json", ec)) continue;
    (name.substr(b + 2) == want ? matches : others).push_back(name);
  }
  std::sort(matches.begin(), matches.end());
  std::sort(others.begin(), others.end());
  if (matches.size() == 1) return (fs::path(dir) / matches.front()).string();
  if (matches.size() > 1)
    fail(ExitCode::BadModel, "'{}' holds several {} models ({}): give one of them to --nnunet", dir, want,
         join(matches));
  fail(ExitCode::BadModel,
       "'{}' is not an nnU-Net result folder (plans.json, dataset.json, fold_N/) and holds no "
       "<Trainer>__<Plans>__{} folder (found: {})",
       dir, want, join(others));
}

preprocess::Plan plan_from_nnunet(const nn::Plans& plans, const nn::Configuration& config) {
  preprocess::Plan plan;
  plan.dims = config.dims;
  for (size_t a = 0; a < 3; ++a) plan.transpose_forward[a] = int(plans.transpose_forward.at(a));
  plan.crop_to_nonzero = true;  // nnU-Net always crops to the non-zero box
  for (size_t c = 0; c < config.normalization_schemes.size(); ++c) {
    const std::string& scheme = config.normalization_schemes[c];
    preprocess::NormalizeOptions o;
    try {
      o.scheme = preprocess::parse_normalization(scheme);
    } catch (const std::exception&) {
      fail(ExitCode::BadModel, "nnU-Net plans '{}': configuration {}: normalization '{}' of channel {} is not one of "
           "nnU-Net's (CTNormalization, ZScoreNormalization, RescaleTo01Normalization, RGBTo01Normalization, "
           "NoNormalization)", plans.path, config.name, scheme, c);
    }
    o.use_mask = o.scheme == preprocess::Normalization::ZScore && c < config.use_mask_for_norm.size() &&
                 config.use_mask_for_norm[c];
    if (o.scheme == preprocess::Normalization::CT) {
      const auto it = plans.foreground_intensity_properties.find(int64_t(c));
      if (it == plans.foreground_intensity_properties.end())
        fail(ExitCode::BadModel, "nnU-Net plans '{}': channel {} uses CTNormalization but "
             "foreground_intensity_properties_per_channel has no entry \"{}\"", plans.path, c, c);
      o = preprocess::ct_normalization(it->second);
    }
    plan.channels.push_back(o);
  }
  plan.target_spacing = config.spacing;
  plan.image_resampling = resampling(config.resampling_fn_data, config.resampling_data, "resampling_fn_data", plans.path);
  plan.logits_resampling = resampling(config.resampling_fn_probabilities, config.resampling_probabilities,
                                      "resampling_fn_probabilities", plans.path);
  return plan;
}

Model load_nnunet_model(const std::string& dir, const NnunetSelection& sel, const std::string& device,
                        models::Precision precision) {
  const c10::Device dev = models::resolve_device(device);
  models::check_precision(precision, dev);
  const nn::ResultFolder folder = nn::open_result_folder(resolve_nnunet_folder(dir, sel.configuration));
  const std::vector<nn::Fold> folds = pick_folds(folder, sel);

  std::vector<nn::TrainedCheckpoint> checkpoints;
  std::vector<std::string> paths;
  for (const auto& f : folds) {
    paths.push_back((fs::path(f.dir) / sel.checkpoint).string());
    checkpoints.push_back(nn::read_checkpoint(paths.back()));
  }
  const std::string config_name = pick_configuration(folder, sel, checkpoints.front());
  for (size_t i = 0; i < checkpoints.size(); ++i)
    if (!checkpoints[i].configuration.empty() && checkpoints[i].configuration != config_name)
      fail(ExitCode::BadModel, "'{}' was trained as {}, not {}", paths[i], checkpoints[i].configuration, config_name);
  const nn::Configuration config = folder.plans.configuration(config_name);
  if (config.previous_stage)
    fail(ExitCode::BadModel, "nnU-Net configuration {} is a cascade stage: it needs the {} predictions as input, "
         "which voxseg does not run; use the {} or 3d_fullres model", config_name, *config.previous_stage,
         *config.previous_stage);
  const models::UNetConfig unet = nn::to_unet_config(config, folder.dataset);

  Model m;
  m.plan = plan_from_nnunet(folder.plans, config);
  m.patch_size = config.patch_size;
  // nnU-Net mirrors over the first fold's allowed axes; None (custom trainers) means no mirroring.
  m.mirror_axes = checkpoints.front().mirror_axes.value_or(std::vector<int64_t>{});
  for (int64_t a : m.mirror_axes)
    if (a < 0 || a >= int64_t(config.patch_size.size()))
      fail(ExitCode::BadModel, "'{}': inference_allowed_mirroring_axes has axis {} for a {}D patch", paths.front(), a,
           config.patch_size.size());
  m.output.regions = folder.dataset.has_regions();
  m.output.values = m.output.regions ? folder.dataset.regions_class_order : folder.dataset.all_labels();
  for (const auto& l : folder.dataset.labels)  // a region's name describes the value it is written with
    if (!l.values.empty() && l.values.back() != 0) m.segments.push_back(io::default_segment(l.values.back(), l.name));
  if (int64_t(m.output.values.size()) != unet.num_classes)
    fail(ExitCode::BadModel, "nnU-Net dataset.json '{}': {} label value(s) for {} network output(s)",
         (fs::path(folder.dir) / "dataset.json").string(), m.output.values.size(), unet.num_classes);

  std::string fold_names, hashes;
  for (size_t i = 0; i < folds.size(); ++i) {
    fold_names += (i ? "," : "") + folds[i].name.substr(5);
    hashes += sha256_file(paths[i], ExitCode::BadModel);
  }
  const std::string name = fs::path(folder.dir).lexically_normal().filename().string();
  m.name = fmt::format("{}/{}", folder.plans.dataset_name, name.empty() ? config_name : name);
  m.id = fmt::format("{}/{}@fold {}", folder.plans.dataset_name, name.empty() ? config_name : name, fold_names);
  m.sha256 = folds.size() == 1 ? hashes : sha256_hex(hashes);  // several folds: hash of their hashes
  for (size_t i = 0; i < folds.size(); ++i) {
    m.networks.push_back(models::make_unet_network(unet, checkpoints[i].weights, paths[i], m.id, dev, precision));
    checkpoints[i].weights.clear();  // the network holds its own copy
  }
  std::error_code ec;
  if (fs::exists(fs::path(folder.dir) / "postprocessing.pkl", ec))
    log::warn("'{}' is not read (a pickle of Python functions); its rules keep the largest component, "
              "which --largest-component does per label", (fs::path(folder.dir) / "postprocessing.pkl").string());
  m.source = "nnunet:" + folder.dir;
  m.device = dev.str();
  m.precision = models::precision_name(precision);
  log::debug("nnU-Net {}: {} fold(s), patch {}, mirror axes {}, {}", m.id, folds.size(),
             fmt::join(m.patch_size, "x"), fmt::join(m.mirror_axes, ","), m.output.regions ? "regions" : "labels");
  return m;
}

std::vector<std::string> parse_fold_list(const std::string& text) {
  std::vector<std::string> folds;
  for (size_t start = 0; start < text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string fold = text.substr(start, comma - start);
    if (fold.empty() || (fold != "all" && fold.find_first_not_of("0123456789") != std::string::npos))
      fail(ExitCode::Usage, "--folds '{}': expected fold numbers separated by commas, or all", text);
    folds.push_back(fold);
    start = comma + 1;
  }
  return folds;
}

}  // namespace voxseg::infer
