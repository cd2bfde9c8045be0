// Dataset scan (validation + fingerprint), planning, k-fold splits and the preprocessed-case cache.
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/models/bundle.h"
#include "voxseg/preprocess/plan.h"
#include "voxseg/preprocess/resample.h"
#include "voxseg/train/detail/prepare.h"
#include "voxseg/train/losses.h"
#include "voxseg/train/trainer.h"

namespace fs = std::filesystem;

namespace voxseg::train {

std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> make_splits(std::vector<std::string> names,
                                                                                      int folds) {
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> out;
  if (folds < 2 || int(names.size()) < folds) return out;
  std::mt19937_64 rng(12345);
  std::vector<size_t> order(names.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(rng() % i)]);
  for (int f = 0; f < folds; ++f) {
    std::vector<std::string> train, val;
    for (size_t k = 0; k < order.size(); ++k) (int(k % size_t(folds)) == f ? val : train).push_back(names[order[k]]);
    std::sort(train.begin(), train.end());
    std::sort(val.begin(), val.end());
    out.emplace_back(train, val);
  }
  return out;
}

namespace detail {

std::array<double, 3> array_spacing_of(const Geometry& g) { return {g.spacing[2], g.spacing[1], g.spacing[0]}; }

LoadedCase read_case(const TrainCase& c) {
  LoadedCase out;
  for (const auto& p : c.images) out.images.push_back(io::read_volume(p));
  out.label = io::read_volume(c.label);
  return out;
}

at::Tensor stack_channels(const std::vector<Volume>& images) {
  std::vector<at::Tensor> ch;
  for (const auto& v : images) ch.push_back(v.data.to(torch::kFloat));
  return torch::stack(ch);
}

}  // namespace detail

DatasetScan scan_dataset(const Dataset& ds, Progress progress) {
  DatasetScan scan;
  scan.fingerprint.channel_names = ds.channel_names;
  std::vector<std::vector<float>> samples(ds.channel_names.size());
  progress.set_total(int64_t(ds.cases.size()));
  uint64_t case_index = 0;
  for (const auto& c : ds.cases) {
    ++case_index;
    bool missing = false;
    for (const auto& p : c.images)
      if (!fs::exists(p)) {
        scan.problems.push_back({c.name, fmt::format("image '{}' is missing", p)});
        missing = true;
      }
    if (!fs::exists(c.label)) {
      scan.problems.push_back({c.name, fmt::format("label map '{}' is missing", c.label)});
      missing = true;
    }
    if (missing) {
      progress.advance();
      continue;
    }
    detail::LoadedCase lc;
    try {
      lc = detail::read_case(c);
    } catch (const Error& e) {
      scan.problems.push_back({c.name, e.what()});
      progress.advance();
      continue;
    }
    const auto problems = check_case(lc.images, lc.label, ds);
    for (const auto& p : problems) scan.problems.push_back({c.name, p});
    if (!problems.empty()) {
      progress.advance();
      continue;
    }
    const auto& g = lc.images[0].geometry;
    scan.fingerprint.spacings_mm.push_back(detail::array_spacing_of(g));
    scan.fingerprint.sizes.push_back({g.size[2], g.size[1], g.size[0]});
    const auto fg = (lc.label.data.to(torch::kLong) > 0).flatten();
    const auto idx = torch::nonzero(fg).flatten();
    if (idx.numel() > 0) {
      auto gen = at::detail::createCPUGenerator(mix_seed(1234, case_index));
      auto pick = idx;
      if (idx.numel() > 10000) pick = idx.index_select(0, torch::randint(idx.numel(), {10000}, gen, torch::kLong));
      for (size_t ch = 0; ch < lc.images.size(); ++ch) {
        const auto vals = lc.images[ch].data.to(torch::kFloat).flatten().index_select(0, pick).contiguous();
        const float* v = vals.data_ptr<float>();
        samples[ch].insert(samples[ch].end(), v, v + vals.numel());
      }
    }
    progress.advance();
  }
  for (auto& s : samples) scan.fingerprint.channels.push_back(channel_stats(std::move(s)));
  return scan;
}

namespace detail {

void fail_on_problems(const Dataset& ds, const std::vector<CaseProblem>& problems) {
  if (problems.empty()) return;
  std::vector<std::string> cases;
  for (const auto& p : problems) {
    log::error("{}: {}", p.case_name, p.message);
    if (std::find(cases.begin(), cases.end(), p.case_name) == cases.end()) cases.push_back(p.case_name);
  }
  fail(ExitCode::BadInput, "invalid dataset '{}': {} problem(s) in {} of {} cases (listed above; --check-only lists them)",
       ds.root, problems.size(), cases.size(), ds.cases.size());
}

models::ModelBundle bundle_spec(const PlannedRun& run, const TrainOptions& o) {
  models::ModelBundle b;
  b.name = o.name.empty() ? o.output.filename().string() : o.name;
  if (b.name.empty()) b.name = o.output.parent_path().filename().string();
  b.description = o.description;
  b.dims = 3;
  b.architecture.type = "unet";
  b.architecture.unet = run.plan.network;
  for (size_t c = 0; c < run.dataset.channel_names.size(); ++c) {
    models::ChannelSpec ch;
    ch.name = run.dataset.channel_names[c];
    ch.normalization = run.plan.normalization.at(c);
    b.channels.push_back(ch);
  }
  if (run.dataset.instances) {
    b.labels = {{0, "background", std::array<int, 3>{0, 0, 0}, std::nullopt},
                {1, "interior", std::array<int, 3>{0, 200, 0}, std::nullopt},
                {2, "boundary", std::array<int, 3>{200, 0, 0}, std::nullopt}};
    Json inst = Json::object();
    inst["interior"] = 1;
    inst["boundary"] = 2;
    inst["min_size_voxels"] = 8;
    b.postprocess = Json::object();
    b.postprocess["instances"] = inst;
  } else {
    for (const auto& l : run.dataset.labels) b.labels.push_back({l.id, l.name, std::nullopt, std::nullopt});
    b.allow_noncontiguous_ids = true;
  }
  b.target_spacing.assign(run.plan.target_spacing_mm.begin(), run.plan.target_spacing_mm.end());
  b.patch_size.assign(run.plan.patch_size.begin(), run.plan.patch_size.end());
  for (int a : run.plan.mirror_axes) b.mirror_axes.push_back(a);
  b.crop_to_nonzero = true;
  Json t = Json::object();
  t["state"] = "planned";
  t["plan"] = plan_to_json(run.plan);
  t["fingerprint"] = fingerprint_to_json(run.fingerprint);
  t["dataset"] = dataset_to_json(run.dataset);
  Json splits = Json::array();
  for (const auto& [tr, va] : run.splits) {
    Json s = Json::object();
    Json a = Json::array(), v = Json::array();
    for (const auto& n : tr) a.push_back(n);
    for (const auto& n : va) v.push_back(n);
    s["train"] = a;
    s["val"] = v;
    splits.push_back(s);
  }
  t["splits"] = splits;
  b.training = t;
  return b;
}

preprocess::Plan preprocess_plan(const TrainPlan& plan) {
  preprocess::Plan p;
  p.dims = 3;
  p.crop_to_nonzero = true;
  p.channels = plan.normalization;
  p.target_spacing.assign(plan.target_spacing_mm.begin(), plan.target_spacing_mm.end());
  return p;
}

CaseArrays preprocess_arrays(const LoadedCase& lc, const TrainPlan& plan, bool instances, int64_t num_classes) {
  Volume image;
  image.data = stack_channels(lc.images);
  image.geometry = lc.images[0].geometry;
  const auto pre = preprocess::preprocess_case(image, preprocess_plan(plan));
  auto lab = preprocess::crop(lc.label.data.to(torch::kFloat), pre.box);
  const std::array<int64_t, 3> shape{pre.data.size(1), pre.data.size(2), pre.data.size(3)};
  lab = preprocess::resample_to_shape(lab, shape, {0, 0, 0});
  CaseArrays c;
  c.image = pre.data.contiguous();
  if (instances) {
    c.label = instance_target(lab.round().to(torch::kLong));
  } else {
    c.label = lab.round().to(torch::kUInt8);
  }
  (void)num_classes;
  return c;
}

std::string cache_key(const TrainCase& c, const TrainPlan& plan, bool instances) {
  std::string text = "v1|";
  text += plan_to_json(plan)["target_spacing_mm"].dump();
  Json norm = Json::array();
  for (const auto& n : plan.normalization)
    norm.push_back(fmt::format("{}:{}:{}:{}:{}{}{}", preprocess::normalization_name(n.scheme), n.mean, n.std, n.lower,
                               n.upper, n.fixed_stats ? ":fixed" : "", n.use_mask ? ":mask" : ""));
  text += norm.dump();
  text += instances ? "|instances" : "|classes";
  auto stamp = [&](const std::string& p) {
    std::error_code ec;
    text += "|" + fs::absolute(p).string();
    if (fs::is_regular_file(p, ec)) {
      text += ":" + std::to_string(fs::file_size(p, ec));
      text += ":" + std::to_string(fs::last_write_time(p, ec).time_since_epoch().count());
    }
  };
  for (const auto& p : c.images) stamp(p);
  stamp(c.label);
  return sha256_hex(text).substr(0, 16);
}

std::vector<CaseArrays> load_cached_cases(const Dataset& ds, const std::vector<std::string>& names, const TrainPlan& plan,
                                          const fs::path& cache_dir, int64_t num_classes, uint64_t seed,
                                          Progress progress) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot create cache folder '{}': {}", cache_dir.string(), ec.message());
  std::vector<CaseArrays> out;
  progress.set_total(int64_t(names.size()));
  uint64_t index = 0;
  for (const auto& name : names) {
    ++index;
    const auto it = std::find_if(ds.cases.begin(), ds.cases.end(), [&](const TrainCase& c) { return c.name == name; });
    if (it == ds.cases.end()) fail(ExitCode::BadInput, "case '{}' of the split is not in dataset '{}'", name, ds.root);
    const fs::path file = cache_dir / (name + "." + cache_key(*it, plan, ds.instances) + ".pt");
    CaseArrays c;
    if (fs::exists(file)) {
      std::vector<torch::Tensor> t;
      try {
        torch::load(t, file.string());
      } catch (const c10::Error& e) {
        log::warn("cache file '{}' unreadable ({}); rebuilding it", file.string(), e.what_without_backtrace());
      }
      if (t.size() == 2) c.image = t[0], c.label = t[1];
    }
    if (!c.image.defined()) {
      const auto lc = read_case(*it);
      c = preprocess_arrays(lc, plan, ds.instances, num_classes);
      AtomicFile af(file, true);
      try {
        torch::save(std::vector<torch::Tensor>{c.image, c.label}, af.temp_path().string());
      } catch (const c10::Error& e) {
        fail(ExitCode::CannotWrite, "cannot write cache file '{}': {}", file.string(), e.what_without_backtrace());
      }
      af.commit();
      log::debug("cached {} as {}", name, file.string());
    }
    c.fg_locations = foreground_locations(c.label, num_classes, 10000, mix_seed(seed, index), &c.class_voxels);
    c.fg_components = foreground_components(c.label, c.fg_locations);
    out.push_back(std::move(c));
    progress.advance();
  }
  return out;
}

}  // namespace detail

PlannedRun plan_training(const TrainOptions& o, Progress progress) {
  PlannedRun run;
  run.dataset = read_dataset(o.dataset, o.dataset_json);
  if (o.instances) run.dataset.instances = true;
  const auto scan = scan_dataset(run.dataset, progress.child("scan", 1.0));
  detail::fail_on_problems(run.dataset, scan.problems);
  run.fingerprint = scan.fingerprint;
  const int64_t classes = run.dataset.instances ? 3 : int64_t(run.dataset.labels.back().id + 1);
  if (!run.dataset.instances) {
    for (size_t i = 0; i < run.dataset.labels.size(); ++i)
      if (run.dataset.labels[i].id != int64_t(i))
        fail(ExitCode::BadInput, "invalid dataset '{}': label ids must be 0..N-1 without gaps for training (found {})",
             run.dataset.root, run.dataset.labels[i].id);
  }
  try {
    run.plan = make_plan(run.fingerprint, classes, o.plan);
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadInput, "cannot plan dataset '{}': {}", run.dataset.root, e.what());
  }
  if (run.dataset.instances) run.plan.normalization.assign(run.plan.normalization.size(), run.plan.normalization[0]);
  // Lateralized labels ("kidney_left"/"kidney_right"): mirroring along x (left-right in axial
  // images, array axis 2) would teach the network to confuse them, so x is not mirrored.
  for (const auto& l : run.dataset.labels) {
    std::string n = l.name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    if (n.find("left") != std::string::npos || n.find("right") != std::string::npos) {
      run.plan.mirror_axes = {0, 1};
      break;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : run.dataset.cases) names.push_back(c.name);
  run.splits = make_splits(names, o.folds);
  return run;
}

}  // namespace voxseg::train
