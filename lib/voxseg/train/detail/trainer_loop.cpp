// The training loop: SGD/AdamW with poly LR, deep supervision, validation with the sliding-window
// engine, exact resume, stop signals, the final bundle, and data-parallel training over several
// processes (gradients averaged by all-reduce; rank_sync.h).
#include "voxseg/train/detail/trainer_loop.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <tuple>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/train/detail/prepare.h"
#include "voxseg/train/detail/rank_sync.h"
#include "voxseg/train/detail/stored_plan.h"
#include "voxseg/train/detail/validation.h"
#include "voxseg/train/losses.h"

namespace fs = std::filesystem;

namespace voxseg::train::detail {
namespace {

constexpr double kLongWaitSeconds = 24 * 3600;  // rank 0 preparing; its death still ends the wait at once

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, const std::vector<at::Tensor>& params) {
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(0.99).nesterov(true).weight_decay(o.weight_decay));
  if (o.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  fail(ExitCode::Usage, "unknown optimizer '{}' (use sgd or adamw)", o.optimizer);
}

// model.json's training.options: the settings a trained bundle was made with.
Json options_record(const TrainOptions& o, int64_t batch_size, int world) {
  Json opts = Json::object();
  opts["epochs"] = o.epochs;
  opts["iterations_per_epoch"] = o.iterations_per_epoch;
  opts["batch_size"] = batch_size;
  opts["optimizer"] = o.optimizer;
  opts["lr"] = o.lr;
  opts["weight_decay"] = o.weight_decay;
  opts["grad_clip"] = o.grad_clip;
  opts["precision"] = o.precision;
  opts["seed"] = int64_t(o.seed);
  opts["augmentation"] = o.augment.enabled;
  opts["elastic_probability"] = o.augment.p_elastic;
  opts["foreground_probability"] = o.augment.p_force_foreground;
  opts["class_sampling"] = class_sampling_name(o.augment.class_sampling);
  opts["world_size"] = world;
  return opts;
}

}  // namespace

Trainer::Trainer(const TrainOptions& options, Progress progress)
    : o_(options),
      progress_(std::move(progress)),
      latest_(options.output / "checkpoint_latest.pt"),
      best_(options.output / "checkpoint_best.pt") {}

Trainer::~Trainer() = default;

TrainResult Trainer::run() {
  setup();
  resume();
  train_progress_ = progress_.child("train", 0.95);
  train_progress_.set_total(std::max<int64_t>(1, (o_.epochs - start_epoch_) * o_.iterations_per_epoch - start_iter_));
  result_.rank = rank_;
  result_.world_size = world_;
  signals_.emplace(SecondSignal::Exit);  // from here a signal stops the run at the end of a step
  AugmentOptions aug = o_.augment;
  aug.spacing_mm = run_.plan.target_spacing_mm;
  aug.lowres_axis = run_.plan.anisotropic ? run_.plan.lowres_axis : -1;
  aug.mirror_axes = run_.plan.mirror_axes;
  loader_ = std::make_unique<BatchLoader>(train_cases_, run_.plan.patch_size, run_.plan.batch_size, aug,
                                          rank_seed(o_.seed, rank_), std::max(0, o_.workers), o_.prefetch,
                                          start_epoch_ * o_.iterations_per_epoch + start_iter_);
  for (int64_t epoch = start_epoch_; epoch < o_.epochs; ++epoch)
    if (!train_epoch(epoch)) return result_;
  return finish();
}

// ---- setup -------------------------------------------------------------------------------------------

void Trainer::setup() {
  // Several processes: meet the other ranks first, so that a missing one fails before any heavy work.
  if (o_.distributed.world_size > 1) group_ = std::make_unique<ProcessGroup>(o_.distributed);
  rank_ = group_ ? group_->rank() : 0;
  world_ = group_ ? group_->world_size() : 1;
  lead_ = rank_ == 0;
  auto prepare = progress_.child("prepare", 0.05);
  if (lead_) setup_lead(prepare);
  else setup_follower();
  planned_spec_ = bundle_spec(run_, o_);
  if (ds_.instances) label_names_ = {"interior", "boundary"};
  else
    for (size_t i = 1; i < ds_.labels.size(); ++i) label_names_.push_back(ds_.labels[i].name);
  load_cases(prepare);
  build_network();
}

// Rank 0: checks the output folder, validates the dataset, takes the stored or a fresh plan and
// hands it (or its error) to the other ranks.
void Trainer::setup_lead(Progress& prepare) {
  const fs::path& out = o_.output;
  try {
    std::error_code ec;
    const bool has_checkpoint = fs::exists(latest_, ec);
    if (o_.resume && !has_checkpoint)
      fail(ExitCode::BadInput, "nothing to resume: '{}' does not exist", latest_.string());
    if (!o_.resume && !o_.force) {
      if (has_checkpoint)
        fail(ExitCode::CannotWrite,
             "'{}' already holds a training run; use --resume to continue it or --force to start over", out.string());
      if (fs::exists(out / "weights.pt", ec))
        fail(ExitCode::CannotWrite, "'{}' already holds a trained model; use --force to train again", out.string());
    }
    if (!o_.resume) {
      for (const char* f : {"checkpoint_latest.pt", "checkpoint_best.pt", "weights.pt", "training_log.csv",
                            "training_log.json", "training_curve.svg"})
        fs::remove(out / f, ec);
    }
    fs::create_directories(out, ec);
    if (ec) fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", out.string(), ec.message());

    // Dataset (validated before anything else), then the stored or a fresh plan.
    ds_ = read_dataset(o_.dataset, o_.dataset_json);
    if (o_.instances) ds_.instances = true;
    const DatasetScan scan = scan_dataset(ds_, prepare.child("scan", 0.5));
    fail_on_problems(ds_, scan.problems);
    const std::optional<PlannedRun> stored = stored_plan(out, ds_);
    if (stored) {
      run_ = *stored;
      if (run_.splits.empty()) {
        std::vector<std::string> names;
        for (const auto& c : ds_.cases) names.push_back(c.name);
        run_.splits = make_splits(names, o_.folds);
      }
      log::info("using the plan stored in '{}'", (out / "model.json").string());
    } else {
      run_ = plan_training(o_, {});
    }
    const std::string planned_json = models::bundle_to_json(bundle_spec(run_, o_)).dump(2) + "\n";
    if (!stored) write_text_atomic(out / "model.json", planned_json, true);
    std::tie(train_names_, val_names_) = fold_cases(o_, ds_, run_);
    if (group_) {
      group_->publish("setup", "ok\n" + planned_json);
      if (o_.resume) group_->publish("checkpoint", read_checkpoint_bytes(latest_));
    }
  } catch (const Error& e) {
    if (group_) {
      try {
        group_->publish("setup", setup_error_text(e));  // the other ranks stop with the same message
      } catch (const Error&) {
      }
    }
    throw;
  }
}

// Ranks > 0: the dataset from their own command line, the plan and checkpoint from rank 0.
void Trainer::setup_follower() {
  ds_ = read_dataset(o_.dataset, o_.dataset_json);
  if (o_.instances) ds_.instances = true;
  const std::string setup = group_->receive("setup", kLongWaitSeconds);
  fail_if_setup_error(setup);
  const std::string source = fmt::format("rank 0's {}", (o_.output / "model.json").string());
  std::optional<PlannedRun> planned;
  try {
    planned = plan_of_bundle(Json::parse(setup.substr(3)), ds_, source);
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::Internal, "rank {}: unreadable plan from rank 0: {}", rank_, e.what());
  }
  if (!planned) fail(ExitCode::Internal, "rank {}: rank 0 sent no plan", rank_);
  run_ = *planned;
  std::tie(train_names_, val_names_) = fold_cases(o_, ds_, run_);
  if (o_.resume) checkpoint_bytes_ = group_->receive("checkpoint");
  std::error_code ec;
  fs::create_directories(o_.output, ec);  // the cache (shared with rank 0 when OUT is on a shared file system)
}

void Trainer::load_cases(Progress& prepare) {
  const int64_t num_classes = run_.plan.network.num_classes;
  // Each rank validates every world-th held-out case; the Dice sums are added up over ranks.
  std::vector<std::string> my_val_names;
  for (size_t i = 0; i < val_names_.size(); ++i)
    if (int(i % size_t(world_)) == rank_) my_val_names.push_back(val_names_[i]);
  const fs::path cache_dir = o_.cache.empty() ? o_.output / "cache" : o_.cache;
  // Ranks > 0 start after rank 0 filled the cache: on a shared file system they only read it.
  if (group_ && !lead_) group_->receive("cache-ready", kLongWaitSeconds);
  train_cases_ =
      load_cached_cases(ds_, train_names_, run_.plan, cache_dir, num_classes, o_.seed, prepare.child("cache", 0.4));
  val_cases_ =
      load_cached_cases(ds_, my_val_names, run_.plan, cache_dir, num_classes, o_.seed + 1, prepare.child("cache", 0.1));
  if (group_ && lead_) group_->publish("cache-ready", "1");
}

// Network and optimizer, seeded.
void Trainer::build_network() {
  device_ = models::resolve_device(o_.device);
  precision_ = models::parse_precision(o_.precision);
  models::check_precision(precision_, *device_);
  torch::manual_seed(o_.seed);
  net_ = std::make_unique<models::UNet>(run_.plan.network);
  net_->to(*device_);
  net_->train(true);
  params_ = net_->parameters();
  opt_ = make_optimizer(o_, params_);
}

void Trainer::resume() {
  if (o_.resume) {
    const CheckpointMeta saved = load_checkpoint(latest_, lead_ ? nullptr : &checkpoint_bytes_, *net_, *opt_);
    if (saved.seed != o_.seed || saved.iterations_per_epoch != o_.iterations_per_epoch)
      log::warn(
          "resuming with a different --seed or --iterations than the checkpoint: the run will not match an "
          "uninterrupted one");
    if (lead_ && saved.world_size != world_)
      log::warn("resuming with {} process(es) a run checkpointed with {}: the run will not match an uninterrupted one",
                world_, saved.world_size);
    state_ = saved;
    log::info("resuming at epoch {} step {}", state_.epoch + 1, state_.iteration);
  }
  // The run's settings come from the options, also when they differ from the checkpoint's (warned above).
  state_.seed = o_.seed;
  state_.iterations_per_epoch = o_.iterations_per_epoch;
  state_.fold = o_.fold;
  state_.world_size = world_;
  start_epoch_ = state_.epoch;
  start_iter_ = state_.iteration;
  if (group_) {  // every rank starts from rank 0's weights (the same seed gives them anyway; this makes sure)
    at::Tensor flat = flatten(params_, 0, false);
    group_->broadcast(flat, 0, "the initial weight broadcast");
    unflatten(flat, params_, false);
  }
}

// ---- epochs ------------------------------------------------------------------------------------------

bool Trainer::train_epoch(int64_t epoch) {
  const int64_t iters = o_.iterations_per_epoch;
  const double lr = poly_lr(o_.lr, epoch, o_.epochs);
  for (auto& g : opt_->param_groups()) g.options().set_lr(lr);
  const auto t0 = Clock::now();
  if (epoch != start_epoch_) {
    state_.loss_sum = 0, state_.partial_seconds = 0;
    state_.partial_wait_seconds = 0, state_.partial_step_seconds = 0, state_.partial_comm_seconds = 0;
  }
  for (int64_t it = epoch == start_epoch_ ? start_iter_ : 0; it < iters; ++it) {
    if (const int sig = train_step(epoch, it)) {
      state_.partial_seconds += since(t0);
      stop(sig, epoch, it + 1, epoch);
      return false;
    }
  }
  const double train_seconds = state_.partial_seconds + since(t0);
  // Mean step timings over ranks (one small all-reduce), for the data-wait and all-reduce shares.
  std::vector<double> timing{state_.partial_wait_seconds, state_.partial_step_seconds, state_.partial_comm_seconds};
  all_reduce_values(group_.get(), timing, 0, "the epoch timing all-reduce");
  const double train_loss = state_.loss_sum / double(iters);
  Json row = Json::object();
  row["epoch"] = epoch + 1;
  row["train_loss"] = train_loss;
  row["lr"] = lr;
  const bool do_val =
      !val_names_.empty() && ((epoch + 1) % std::max<int64_t>(1, o_.val_every) == 0 || epoch + 1 == o_.epochs);
  if (do_val) validate(epoch, row);
  const double seconds = state_.partial_seconds + since(t0);
  row["epoch_seconds"] = seconds;
  row["samples_per_second"] = double(run_.plan.batch_size * iters * world_) / std::max(1e-9, train_seconds);
  row["data_wait_fraction"] = timing[1] > 0 ? timing[0] / timing[1] : 0.0;
  if (group_) row["allreduce_fraction"] = timing[1] > 0 ? timing[2] / timing[1] : 0.0;
  state_.rows.push_back(row);
  const std::string line = fmt::format(
      "epoch {}/{}: loss {:.4f}, lr {:.5f}{}, {:.1f} s, {:.1f} samples/s, data wait {:.1f}%", epoch + 1, o_.epochs,
      train_loss, lr,
      do_val
          ? fmt::format(", val Dice {:.3f} (smoothed {:.3f})",
                        row["val_dice_mean"].is_number() ? row["val_dice_mean"].as_double() : std::nan(""), state_.ema)
          : "",
      seconds, row["samples_per_second"].as_double(), 100 * row["data_wait_fraction"].as_double());
  if (lead_) log::info("{}", line);
  else log::debug("rank {}: {}", rank_, line);
  result_.final_train_loss = train_loss;
  state_.loss_sum = 0, state_.partial_seconds = 0;
  state_.partial_wait_seconds = 0, state_.partial_step_seconds = 0, state_.partial_comm_seconds = 0;
  if (lead_) {
    save_checkpoint(latest_, *net_, *opt_, meta_at(epoch + 1, 0));
    write_training_logs(o_.output, state_.rows);
  }
  std::vector<double> none;
  if (const int sig = all_reduce_values(group_.get(), none, stop_signal(), "the end-of-epoch all-reduce")) {
    stop(sig, epoch + 1, 0, epoch + 1);
    return false;
  }
  return true;
}

int Trainer::train_step(int64_t epoch, int64_t it) {
  // Data wait: the time this step is blocked on the next batch (made inline when --workers 0).
  const auto s0 = Clock::now();
  auto [x, y] = loader_->get(epoch * o_.iterations_per_epoch + it);
  x = x.to(*device_);
  y = y.to(*device_);
  state_.partial_wait_seconds += since(s0);
  opt_->zero_grad();
  std::vector<at::Tensor> outs;
  {
    models::PrecisionScope scope(precision_, *device_);
    outs = net_->forward_all(x);
  }
  for (auto& t : outs) t = t.to(torch::kFloat);
  auto loss = deep_supervision_loss(outs, y);
  loss.backward();
  double step_loss = loss.item<double>();
  int stop = stop_signal();
  if (group_) {  // average the gradients before clipping, so every rank takes the same step
    const auto c0 = Clock::now();
    const StepAgreement a = all_reduce_step(*group_, params_, step_loss, stop);
    state_.partial_comm_seconds += since(c0);
    step_loss = a.loss;
    stop = a.stop_signal;
  }
  torch::nn::utils::clip_grad_norm_(params_, o_.grad_clip);
  opt_->step();
  state_.loss_sum += step_loss;
  state_.partial_step_seconds += since(s0);
  train_progress_.advance();
  return stop;
}

void Trainer::validate(int64_t epoch, Json& row) {
  DiceSums sums = validation_dice(*net_, precision_, val_cases_, run_.plan, run_.plan.network.num_classes);
  std::vector<double> v = sums.sum;  // every rank scored its share: add them up
  v.insert(v.end(), sums.count.begin(), sums.count.end());
  all_reduce_values(group_.get(), v, 0, "the validation all-reduce");
  std::copy(v.begin(), v.begin() + ptrdiff_t(sums.sum.size()), sums.sum.begin());
  std::copy(v.begin() + ptrdiff_t(sums.sum.size()), v.end(), sums.count.begin());
  const auto dice = dice_means(sums);
  const double mean = finite_mean(dice);
  double& ema = state_.ema;
  if (std::isfinite(mean)) ema = std::isfinite(ema) ? 0.9 * ema + 0.1 * mean : mean;
  Json per = Json::object();
  for (size_t k = 0; k < dice.size() && k < label_names_.size(); ++k) per[label_names_[k]] = number_or_null(dice[k]);
  row["val_dice"] = per;
  row["val_dice_mean"] = number_or_null(mean);
  row["val_dice_ema"] = number_or_null(ema);
  result_.final_val_dice = dice;
  if (std::isfinite(ema) && ema > state_.best_ema) {
    state_.best_ema = ema;
    state_.best_epoch = epoch + 1;
    if (lead_) models::write_weights(*net_, best_, true);
  }
}

CheckpointMeta Trainer::meta_at(int64_t epoch, int64_t iteration) const {
  CheckpointMeta m = state_;
  m.epoch = epoch;
  m.iteration = iteration;
  return m;
}

// A stop agreed by all ranks: rank 0 saves the checkpoint, the others wait for it, all report it.
void Trainer::stop(int sig, int64_t epoch, int64_t next_iter, int64_t epochs_done) {
  if (lead_) save_checkpoint(latest_, *net_, *opt_, meta_at(epoch, next_iter));
  if (group_) group_->barrier("the barrier after the stop checkpoint");
  if (next_iter > 0)
    log::warn("stopped by signal {} at epoch {} step {}; checkpoint saved to '{}' (continue with --resume)", sig,
              epoch + 1, next_iter, latest_.string());
  else
    log::warn("stopped by signal {} after epoch {}; checkpoint saved to '{}' (continue with --resume)", sig, epoch,
              latest_.string());
  result_.interrupted = true;
  result_.signal = sig;
  result_.epochs_done = epochs_done;
}

// ---- the bundle --------------------------------------------------------------------------------------

TrainResult Trainer::finish() {
  result_.parameters_sha256 = parameters_sha256(*net_);
  result_.epochs_done = o_.epochs;
  result_.best_ema_dice = state_.best_ema;
  result_.best_epoch = state_.best_epoch;
  if (!lead_) {
    group_->barrier("the final barrier (rank 0 writing the bundle)");
    return result_;
  }
  // The planned spec plus the training record, with the weights of the final epoch (nnU-Net's default).
  models::ModelBundle spec = planned_spec_;
  spec.training["state"] = "trained";
  spec.training["fold"] = o_.fold < 0 ? Json("all") : Json(o_.fold);
  spec.training["options"] = options_record(o_, run_.plan.batch_size, world_);
  spec.training["best_epoch"] = state_.best_epoch;
  spec.training["best_val_dice_ema"] = number_or_null(state_.best_ema);
  spec.training["final"] = state_.rows.empty() ? Json::object() : state_.rows.back();
  Json val = Json::array();
  for (const auto& n : val_names_) val.push_back(n);
  spec.training["validation_cases"] = val;
  if (!o_.name.empty()) spec.name = o_.name;
  models::save_bundle(o_.output, spec, *net_, true);
  if (group_) group_->barrier("the final barrier (rank 0 writing the bundle)");
  result_.summary = spec.training;
  return result_;
}

}  // namespace voxseg::train::detail
