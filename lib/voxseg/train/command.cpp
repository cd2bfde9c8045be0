#include "voxseg/train/command.h"

#include "voxseg/core/runtime_info.h"

namespace voxseg::train {
namespace {
void require_output(const TrainOptions& o) {
  if (o.output.empty()) fail(ExitCode::Usage, "give the output folder with -o");
}
}  // namespace

TrainAction parse_train_arguments(std::vector<std::string> positional, std::string& dataset) {
  TrainAction action = TrainAction::Run;
  if (!positional.empty() && (positional[0] == "plan" || positional[0] == "run")) {
    action = positional[0] == "plan" ? TrainAction::Plan : TrainAction::Run;
    positional.erase(positional.begin());
  }
  if (positional.size() != 1) fail(ExitCode::Usage, "give one dataset (folder or CSV); see --help");
  dataset = positional[0];
  return action;
}

int parse_fold(const std::string& text) {
  if (text == "all") return -1;
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    fail(ExitCode::Usage, "--fold takes a fold number or 'all', not '{}'", text);
  }
}

TrainReport check_report(const std::string& dataset, const Dataset& ds, const DatasetScan& scan) {
  TrainReport r;
  Json problems = Json::array();
  for (const auto& p : scan.problems) {
    Json j = Json::object();
    j["case"] = p.case_name, j["problem"] = p.message;
    problems.push_back(j);
    r.text += p.case_name + ": " + p.message + "\n";
  }
  r.fields["dataset"] = dataset, r.fields["cases"] = int64_t(ds.cases.size()), r.fields["problems"] = problems;
  r.text += fmt::format("{}: {} cases, {} problem(s)\n", dataset, ds.cases.size(), scan.problems.size());
  r.code = scan.problems.empty() ? ExitCode::Ok : ExitCode::BadInput;
  return r;
}

TrainReport plan_report(const PlannedRun& run, const TrainOptions& o) {
  TrainReport r;
  const std::string model_json = (o.output / "model.json").string();
  r.fields["model_json"] = model_json, r.fields["plan"] = plan_to_json(run.plan);
  const auto& p = run.plan;
  r.text = fmt::format(
      "plan: spacing {:.3g}x{:.3g}x{:.3g} mm, patch {}x{}x{}, batch {}, {} stages, ~{:.2f} GB "
      "(edit training.plan in {})",
      p.target_spacing_mm[0], p.target_spacing_mm[1], p.target_spacing_mm[2], p.patch_size[0], p.patch_size[1],
      p.patch_size[2], p.batch_size, p.network.n_stages(), p.estimated_memory_gb, model_json);
  return r;
}

TrainReport training_report(const TrainResult& result, const TrainOptions& o) {
  TrainReport r;
  if (result.interrupted) {
    r.code = static_cast<ExitCode>(128 + result.signal);
    r.print = false;
    return r;
  }
  r.fields["rank"] = result.rank, r.fields["world_size"] = result.world_size;
  r.fields["parameters_sha256"] = result.parameters_sha256;
  r.fields["runtime"] = runtime_json();
  if (result.rank > 0) {
    r.text = fmt::format("rank {} of {}: trained {} epochs; rank 0 wrote the bundle", result.rank, result.world_size,
                         result.epochs_done);
    return r;
  }
  r.fields["bundle"] = o.output.string(), r.fields["training"] = result.summary;
  std::string dice;
  for (double d : result.final_val_dice) dice += fmt::format(" {:.3f}", d);
  r.text = fmt::format("trained {} epochs into {}; final loss {:.4f}; validation Dice per label:{}", result.epochs_done,
                       o.output.string(), result.final_train_loss, dice.empty() ? " (no validation)" : dice);
  return r;
}

TrainReport check_dataset(const TrainOptions& o, Progress progress) {
  const Dataset ds = read_dataset(o.dataset, o.dataset_json);
  return check_report(o.dataset, ds, scan_dataset(ds, std::move(progress)));
}

TrainReport plan_run(const TrainOptions& o, Progress progress) {
  require_output(o);
  const PlannedRun run = plan_training(o, std::move(progress));
  write_planned_bundle(run, o);
  return plan_report(run, o);
}

TrainReport train_run(TrainOptions o, Progress progress) {
  require_output(o);
  warn_if_slow_blas();
  o.distributed = resolve_distributed(o.distributed);
  return training_report(run_training(o, std::move(progress)), o);
}

}  // namespace voxseg::train
