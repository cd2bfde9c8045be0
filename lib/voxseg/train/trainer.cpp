// The training loop: SGD/AdamW with poly LR, deep supervision, validation with the sliding-window
// engine, exact resume, signal handling, the final bundle, and data-parallel training over several
// processes (gradients averaged by all-reduce; distributed.h). Batches: detail/batch_loader.h;
// checkpoints: detail/checkpoint_state.h.
#include "voxseg/train/trainer.h"

#include <signal.h>
#include <unistd.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <tuple>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/json_fields.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"
#include "voxseg/infer/sliding_window.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"
#include "voxseg/train/detail/batch_loader.h"
#include "voxseg/train/detail/checkpoint_state.h"
#include "voxseg/train/detail/prepare.h"
#include "voxseg/train/distributed.h"
#include "voxseg/train/losses.h"

namespace fs = std::filesystem;

namespace voxseg::train {
namespace {

// ---- signals: a flag the loop checks after each step --------------------------------------------
volatile sig_atomic_t g_stop_signal = 0;
void on_stop_signal(int sig) {
  if (g_stop_signal) ::_exit(128 + sig);  // a second signal: stop now
  g_stop_signal = sig;
}
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  int signal() const { return int(g_stop_signal); }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// ---- the network as the sliding-window engine sees it ----------------------------------------------
class EvalNetwork : public models::Network {
 public:
  EvalNetwork(models::UNet& net, models::Precision precision) : net_(net), precision_(precision) {}
  int64_t in_channels() const override { return net_.config().in_channels; }
  int64_t num_classes() const override { return net_.config().num_classes; }
  int spatial_dims() const override { return net_.config().dims; }
  at::Tensor forward(const at::Tensor& tiles) override {
    torch::NoGradGuard no_grad;
    models::PrecisionScope scope(precision_, net_.device());
    return net_.forward(tiles.to(net_.device())).to(torch::kFloat);
  }
  std::string device() const override { return net_.device().str(); }

 private:
  models::UNet& net_;
  models::Precision precision_;
};

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(); }

// Dice summed per foreground label over `cases` and the number of cases where the label counts
// (NaN = absent in both: left out). Sums, so that ranks can add their shares.
struct DiceSums {
  std::vector<double> sum, count;
};
DiceSums validate(models::UNet& net, models::Precision precision, const std::vector<CaseArrays>& cases,
                  const TrainPlan& plan, int64_t num_classes, const StopSignals& signals) {
  DiceSums s{std::vector<double>(size_t(num_classes - 1), 0.0), std::vector<double>(size_t(num_classes - 1), 0.0)};
  net.train(false);
  auto adapter = std::make_shared<EvalNetwork>(net, precision);
  infer::WindowOptions w;
  w.patch_size.assign(plan.patch_size.begin(), plan.patch_size.end());
  w.mirror = false;
  w.batch_size = 1;
  for (const auto& c : cases) {
    if (signals.signal()) break;
    const auto logits = infer::sliding_window_logits(c.image, {adapter}, w);
    const auto d = dice_per_label(logits.argmax(0), c.label, num_classes);
    for (size_t k = 0; k < d.size(); ++k)
      if (std::isfinite(d[k])) s.sum[k] += d[k], s.count[k] += 1;
  }
  net.train(true);
  return s;
}

std::vector<double> dice_means(const DiceSums& s) {
  std::vector<double> out;
  for (size_t k = 0; k < s.sum.size(); ++k) out.push_back(s.count[k] > 0 ? s.sum[k] / s.count[k] : std::nan(""));
  return out;
}

double finite_mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o, const std::vector<at::Tensor>& params) {
  if (o.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(0.99).nesterov(true).weight_decay(o.weight_decay));
  if (o.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  fail(ExitCode::Usage, "unknown optimizer '{}' (use sgd or adamw)", o.optimizer);
}

// training.splits as written by bundle_spec: [{"train": [names], "val": [names]}, ...].
std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> splits_from_json(const Json& j,
                                                                                          const std::string& path) {
  if (!j.is_array()) json::field_error(path, "expected a list of {\"train\", \"val\"} objects, one per fold");
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string f = json::index_field(path, i);
    const Json& fold = j.as_array()[i];
    json::require_object(fold, f);
    json::reject_unknown_members(fold, {"train", "val"}, f);
    out.emplace_back(json::read_string_list(json::require_member(fold, "train", f), json::join_field(f, "train")),
                     json::read_string_list(json::require_member(fold, "val", f), json::join_field(f, "val")));
  }
  return out;
}

// The planned run described by a bundle's model.json (possibly edited), or nullopt without a plan.
std::optional<PlannedRun> plan_of_bundle(const Json& j, const Dataset& ds, const std::string& source) {
  const Json* t = j.find("training");
  if (!t || !t->find("plan")) return std::nullopt;
  PlannedRun run;
  run.dataset = ds;
  try {
    run.plan = plan_from_json(*t->find("plan"), "training.plan");
    if (const Json* f = t->find("fingerprint")) run.fingerprint = fingerprint_from_json(*f, "training.fingerprint");
    if (const Json* s = t->find("splits")) run.splits = splits_from_json(*s, "training.splits");
  } catch (const std::exception& e) {
    fail(ExitCode::BadModel, "invalid plan in '{}': {}", source, e.what());
  }
  run.plan.network.num_classes = ds.instances ? 3 : ds.labels.back().id + 1;
  if (int64_t(ds.channel_names.size()) != run.plan.network.in_channels)
    fail(ExitCode::BadModel, "invalid plan in '{}': field 'training.plan.normalization': {} entries for {} channels",
         source, run.plan.network.in_channels, ds.channel_names.size());
  return run;
}

// The planned run stored in <output>/model.json, or nullopt.
std::optional<PlannedRun> stored_plan(const fs::path& output, const Dataset& ds) {
  const fs::path file = output / "model.json";
  if (!fs::exists(file)) return std::nullopt;
  return plan_of_bundle(read_json_file(file.string(), ExitCode::BadModel), ds, file.string());
}

// Training and validation case names of the chosen fold.
std::pair<std::vector<std::string>, std::vector<std::string>> fold_cases(const TrainOptions& o, const Dataset& ds,
                                                                         const PlannedRun& run) {
  std::vector<std::string> train_names, val_names;
  if (o.fold < 0) {
    for (const auto& c : ds.cases) train_names.push_back(c.name);
  } else {
    if (o.fold >= int(run.splits.size()))
      fail(ExitCode::Usage, "fold {} does not exist: the dataset has {} cases split into {} folds (use --fold all for all cases)",
           o.fold, ds.cases.size(), run.splits.size());
    train_names = run.splits[size_t(o.fold)].first;
    val_names = run.splits[size_t(o.fold)].second;
    if (o.max_val_cases > 0 && int64_t(val_names.size()) > o.max_val_cases) val_names.resize(size_t(o.max_val_cases));
  }
  return {train_names, val_names};
}

// ---- data-parallel helpers (world size > 1) ---------------------------------------------------------
// Rank 0 keeps the run's seed, so a one-process run is unchanged; other ranks draw their own batches.
uint64_t rank_seed(uint64_t seed, int rank) {
  return rank == 0 ? seed : mix_seed(seed, 0x72616E6B00000000ULL + uint64_t(rank));
}

// Flattens tensors into one float32 CPU buffer (plus `extra` slots at the end) and back.
at::Tensor flatten(const std::vector<at::Tensor>& ts, int64_t extra, bool grads) {
  std::vector<at::Tensor> parts;
  parts.reserve(ts.size() + 1);
  for (const auto& p : ts) {
    const at::Tensor& t = grads ? p.grad() : p;
    parts.push_back(t.defined() ? t.detach().to(torch::kCPU, torch::kFloat).reshape({-1})
                                : torch::zeros({p.numel()}, torch::kFloat));
  }
  parts.push_back(torch::zeros({extra}, torch::kFloat));
  return torch::cat(parts);
}
void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& ts, bool grads) {
  torch::NoGradGuard no_grad;
  int64_t off = 0;
  for (auto& p : ts) {
    const at::Tensor part = flat.slice(0, off, off + p.numel()).view(p.sizes()).to(p.device(), p.scalar_type());
    off += p.numel();
    if (!grads) p.copy_(part);
    else if (p.grad().defined()) p.mutable_grad().copy_(part);
    else p.mutable_grad() = part.clone();
  }
}

// Each rank's pending stop signal (0: none) goes into its own slot of a buffer that is then summed
// over ranks, so the slots stay apart; after the sum every rank sees the same largest signal.
void pack_stop_signal(at::Tensor& buffer, int64_t first_slot, int rank, int signal) {
  buffer.narrow(0, first_slot + rank, 1).fill_(double(signal));
}
int agreed_stop_signal(const at::Tensor& buffer, int64_t first_slot, int world) {
  return int(buffer.narrow(0, first_slot, world).max().item<double>());
}

// One all-reduce per step: every gradient (then averaged), the loss (averaged) and each rank's pending
// stop signal in its own slot, so that all ranks take the same optimizer step and stop together.
struct StepAgreement {
  double loss = 0;
  int stop_signal = 0;
};
StepAgreement all_reduce_step(ProcessGroup& g, std::vector<at::Tensor>& params, double loss, int own_signal) {
  const int world = g.world_size();
  const int64_t n = [&] {
    int64_t s = 0;
    for (const auto& p : params) s += p.numel();
    return s;
  }();
  at::Tensor flat = flatten(params, 1 + world, true);
  flat.accessor<float, 1>()[n] = float(loss);
  pack_stop_signal(flat, n + 1, g.rank(), own_signal);
  g.all_reduce_sum(flat, "the gradient all-reduce");
  StepAgreement a;
  a.loss = double(flat[n].item<float>()) / world;
  a.stop_signal = agreed_stop_signal(flat, n + 1, world);
  flat.slice(0, 0, n).div_(float(world));
  unflatten(flat, params, true);
  return a;
}

// Sums `values` over ranks and the largest pending stop signal (for epoch-level agreement).
int all_reduce_values(ProcessGroup* g, std::vector<double>& values, int own_signal, const char* what) {
  if (!g) return own_signal;
  const int world = g->world_size();
  at::Tensor t = torch::zeros({int64_t(values.size()) + world}, torch::kDouble);
  auto acc = t.accessor<double, 1>();
  for (size_t i = 0; i < values.size(); ++i) acc[int64_t(i)] = values[i];
  pack_stop_signal(t, int64_t(values.size()), g->rank(), own_signal);
  g->all_reduce_sum(t, what);
  auto r = t.accessor<double, 1>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = r[int64_t(i)];
  return agreed_stop_signal(t, int64_t(values.size()), world);
}

// SHA-256 of the parameters' float bytes in registration order: equal on every rank of a run.
std::string parameters_sha256(models::UNet& net) {
  std::string bytes;
  for (const auto& p : net.parameters()) {
    const at::Tensor c = p.detach().to(torch::kCPU).contiguous();
    bytes.append(static_cast<const char*>(c.data_ptr()), size_t(c.numel()) * c.element_size());
  }
  return sha256_hex(bytes);
}

// What rank 0 hands the other ranks before training: its model.json (plan, splits) or its error.
constexpr double kLongWaitSeconds = 24 * 3600;  // rank 0 preparing; its death still ends the wait at once
std::string setup_error_text(const Error& e) { return fmt::format("error\n{}\n{}", int(e.code()), e.what()); }
void fail_if_setup_error(const std::string& text) {
  if (text.rfind("error\n", 0) != 0) return;
  const auto nl = text.find('\n', 6);
  const int code = std::atoi(text.substr(6, nl - 6).c_str());
  fail(static_cast<ExitCode>(code), "rank 0 stopped: {}", nl == std::string::npos ? text : text.substr(nl + 1));
}

}  // namespace

void write_planned_bundle(const PlannedRun& run, const TrainOptions& o) {
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", o.output.string(), ec.message());
  write_text_atomic(o.output / "model.json", models::bundle_to_json(detail::bundle_spec(run, o)).dump(2) + "\n", o.force);
}

TrainResult run_training(const TrainOptions& o, Progress progress) {
  // Several processes: meet the other ranks first, so that a missing one fails before any heavy work.
  std::unique_ptr<ProcessGroup> group;
  if (o.distributed.world_size > 1) group = std::make_unique<ProcessGroup>(o.distributed);
  const int rank = group ? group->rank() : 0, world = group ? group->world_size() : 1;
  const bool lead = rank == 0;  // validates (with the others), writes logs, checkpoints and the bundle

  const fs::path out = o.output;
  const fs::path latest = out / "checkpoint_latest.pt", best = out / "checkpoint_best.pt";
  std::error_code ec;
  auto prep = progress.child("prepare", 0.05);
  Dataset ds;
  PlannedRun run;
  std::vector<std::string> train_names, val_names;
  std::string checkpoint_bytes;  // ranks > 0 when resuming: rank 0's checkpoint
  if (lead) {
    try {
      const bool has_checkpoint = fs::exists(latest, ec);
      if (o.resume && !has_checkpoint)
        fail(ExitCode::BadInput, "nothing to resume: '{}' does not exist", latest.string());
      if (!o.resume && !o.force) {
        if (has_checkpoint)
          fail(ExitCode::CannotWrite,
               "'{}' already holds a training run; use --resume to continue it or --force to start over", out.string());
        if (fs::exists(out / "weights.pt", ec))
          fail(ExitCode::CannotWrite, "'{}' already holds a trained model; use --force to train again", out.string());
      }
      if (!o.resume) {
        for (const char* f : {"checkpoint_latest.pt", "checkpoint_best.pt", "weights.pt", "training_log.csv",
                              "training_log.json", "training_curve.svg"})
          fs::remove(out / f, ec);
      }
      fs::create_directories(out, ec);
      if (ec) fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", out.string(), ec.message());

      // Dataset (validated before anything else), then the stored or a fresh plan.
      ds = read_dataset(o.dataset, o.dataset_json);
      if (o.instances) ds.instances = true;
      const DatasetScan scan = scan_dataset(ds, prep.child("scan", 0.5));
      detail::fail_on_problems(ds, scan.problems);
      std::optional<PlannedRun> stored = stored_plan(out, ds);
      if (stored) {
        run = *stored;
        if (run.splits.empty()) {
          std::vector<std::string> names;
          for (const auto& c : ds.cases) names.push_back(c.name);
          run.splits = make_splits(names, o.folds);
        }
        log::info("using the plan stored in '{}'", (out / "model.json").string());
      } else {
        TrainOptions po = o;
        run = plan_training(po, {});
      }
      const std::string planned_json = models::bundle_to_json(detail::bundle_spec(run, o)).dump(2) + "\n";
      if (!stored) write_text_atomic(out / "model.json", planned_json, true);
      std::tie(train_names, val_names) = fold_cases(o, ds, run);
      if (group) {
        group->publish("setup", "ok\n" + planned_json);
        if (o.resume) group->publish("checkpoint", detail::read_checkpoint_bytes(latest));
      }
    } catch (const Error& e) {
      if (group) {
        try {
          group->publish("setup", setup_error_text(e));  // the other ranks stop with the same message
        } catch (const Error&) {
        }
      }
      throw;
    }
  } else {
    ds = read_dataset(o.dataset, o.dataset_json);
    if (o.instances) ds.instances = true;
    const std::string setup = group->receive("setup", kLongWaitSeconds);
    fail_if_setup_error(setup);
    const std::string source = fmt::format("rank 0's {}", (out / "model.json").string());
    std::optional<PlannedRun> planned;
    try {
      planned = plan_of_bundle(Json::parse(setup.substr(3)), ds, source);
    } catch (const std::invalid_argument& e) {
      fail(ExitCode::Internal, "rank {}: unreadable plan from rank 0: {}", rank, e.what());
    }
    if (!planned) fail(ExitCode::Internal, "rank {}: rank 0 sent no plan", rank);
    run = *planned;
    std::tie(train_names, val_names) = fold_cases(o, ds, run);
    if (o.resume) checkpoint_bytes = group->receive("checkpoint");
    fs::create_directories(out, ec);  // the cache (shared with rank 0 when OUT is on a shared file system)
  }
  const int64_t num_classes = run.plan.network.num_classes;
  const models::ModelBundle planned_spec = detail::bundle_spec(run, o);

  // Each rank validates every world-th held-out case; the Dice sums are added up over ranks.
  std::vector<std::string> my_val_names;
  for (size_t i = 0; i < val_names.size(); ++i)
    if (int(i % size_t(world)) == rank) my_val_names.push_back(val_names[i]);
  const fs::path cache_dir = o.cache.empty() ? out / "cache" : o.cache;
  // Ranks > 0 start after rank 0 filled the cache: on a shared file system they only read it.
  if (group && !lead) group->receive("cache-ready", kLongWaitSeconds);
  const auto train_cases = detail::load_cached_cases(ds, train_names, run.plan, cache_dir, num_classes, o.seed,
                                                     prep.child("cache", 0.4));
  const auto val_cases = detail::load_cached_cases(ds, my_val_names, run.plan, cache_dir, num_classes, o.seed + 1,
                                                   prep.child("cache", 0.1));
  if (group && lead) group->publish("cache-ready", "1");

  // Network and optimizer (seeded), then the checkpoint when resuming.
  const c10::Device device = models::resolve_device(o.device);
  const models::Precision precision = models::parse_precision(o.precision);
  models::check_precision(precision, device);
  torch::manual_seed(o.seed);
  models::UNet net(run.plan.network);
  net.to(device);
  net.train(true);
  auto params = net.parameters();
  auto opt = make_optimizer(o, params);

  // Where the run stands; checkpointed at every epoch end and at a stop, restored by --resume.
  detail::CheckpointMeta state;
  state.seed = o.seed;
  state.iterations_per_epoch = o.iterations_per_epoch;
  state.fold = o.fold;
  state.world_size = world;
  if (o.resume) {
    const detail::CheckpointMeta saved = detail::load_checkpoint(latest, lead ? nullptr : &checkpoint_bytes, net, *opt);
    if (saved.seed != o.seed || saved.iterations_per_epoch != o.iterations_per_epoch)
      log::warn("resuming with a different --seed or --iterations than the checkpoint: the run will not match an uninterrupted one");
    if (lead && saved.world_size != world)
      log::warn("resuming with {} process(es) a run checkpointed with {}: the run will not match an uninterrupted one",
                world, saved.world_size);
    state.epoch = saved.epoch, state.iteration = saved.iteration;
    state.loss_sum = saved.loss_sum, state.partial_seconds = saved.partial_seconds;
    state.partial_wait_seconds = saved.partial_wait_seconds, state.partial_step_seconds = saved.partial_step_seconds;
    state.partial_comm_seconds = saved.partial_comm_seconds;
    state.ema = saved.ema, state.best_ema = saved.best_ema, state.best_epoch = saved.best_epoch;
    state.rows = saved.rows;
    log::info("resuming at epoch {} step {}", state.epoch + 1, state.iteration);
  }
  const int64_t start_epoch = state.epoch, start_iter = state.iteration;
  std::vector<Json>& rows = state.rows;
  double& loss_sum = state.loss_sum;
  double& partial_seconds = state.partial_seconds;
  double& wait_seconds = state.partial_wait_seconds;
  double& step_seconds = state.partial_step_seconds;
  double& comm_seconds = state.partial_comm_seconds;
  double& ema = state.ema;
  double& best_ema = state.best_ema;
  int64_t& best_epoch = state.best_epoch;
  if (group) {  // every rank starts from rank 0's weights (the same seed gives them anyway; this makes sure)
    at::Tensor flat = flatten(params, 0, false);
    group->broadcast(flat, 0, "the initial weight broadcast");
    unflatten(flat, params, false);
  }

  AugmentOptions aug = o.augment;
  aug.spacing_mm = run.plan.target_spacing_mm;
  aug.lowres_axis = run.plan.anisotropic ? run.plan.lowres_axis : -1;
  aug.mirror_axes = run.plan.mirror_axes;
  const int64_t iters = o.iterations_per_epoch;
  const int64_t batch = run.plan.batch_size;
  std::vector<std::string> label_names;
  if (ds.instances) label_names = {"interior", "boundary"};
  else
    for (size_t i = 1; i < ds.labels.size(); ++i) label_names.push_back(ds.labels[i].name);

  auto train_progress = progress.child("train", 0.95);
  train_progress.set_total(std::max<int64_t>(1, (o.epochs - start_epoch) * iters - start_iter));
  TrainResult result;
  result.rank = rank;
  result.world_size = world;
  StopSignals signals;
  detail::BatchLoader loader(train_cases, run.plan.patch_size, batch, aug, rank_seed(o.seed, rank), std::max(0, o.workers),
                     o.prefetch, start_epoch * iters + start_iter);
  auto meta_now = [&](int64_t epoch, int64_t iter) {
    detail::CheckpointMeta m = state;
    m.epoch = epoch;
    m.iteration = iter;
    return m;
  };
  // A stop agreed by all ranks: rank 0 saves the checkpoint, the others wait for it, all report it.
  auto stop_run = [&](int sig, int64_t epoch, int64_t next_iter, int64_t epochs_done) {
    if (lead) detail::save_checkpoint(latest, net, *opt, meta_now(epoch, next_iter));
    if (group) group->barrier("the barrier after the stop checkpoint");
    if (next_iter > 0)
      log::warn("stopped by signal {} at epoch {} step {}; checkpoint saved to '{}' (continue with --resume)", sig,
                epoch + 1, next_iter, latest.string());
    else
      log::warn("stopped by signal {} after epoch {}; checkpoint saved to '{}' (continue with --resume)", sig, epoch,
                latest.string());
    result.interrupted = true;
    result.signal = sig;
    result.epochs_done = epochs_done;
    return result;
  };

  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  for (int64_t epoch = start_epoch; epoch < o.epochs; ++epoch) {
    const double lr = poly_lr(o.lr, epoch, o.epochs);
    for (auto& g : opt->param_groups()) g.options().set_lr(lr);
    const auto t0 = Clock::now();
    const int64_t first_iter = epoch == start_epoch ? start_iter : 0;
    if (epoch != start_epoch) loss_sum = 0, partial_seconds = 0, wait_seconds = 0, step_seconds = 0, comm_seconds = 0;
    for (int64_t it = first_iter; it < iters; ++it) {
      // Data wait: the time this step is blocked on the next batch (made inline when --workers 0).
      const auto s0 = Clock::now();
      auto [x, y] = loader.get(epoch * iters + it);
      x = x.to(device);
      y = y.to(device);
      wait_seconds += since(s0);
      opt->zero_grad();
      std::vector<at::Tensor> outs;
      {
        models::PrecisionScope scope(precision, device);
        outs = net.forward_all(x);
      }
      for (auto& t : outs) t = t.to(torch::kFloat);
      auto loss = deep_supervision_loss(outs, y);
      loss.backward();
      double step_loss = loss.item<double>();
      int stop = signals.signal();
      if (group) {  // average the gradients before clipping, so every rank takes the same step
        const auto c0 = Clock::now();
        const StepAgreement a = all_reduce_step(*group, params, step_loss, stop);
        comm_seconds += since(c0);
        step_loss = a.loss;
        stop = a.stop_signal;
      }
      torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
      opt->step();
      loss_sum += step_loss;
      step_seconds += since(s0);
      train_progress.advance();
      if (stop) {
        partial_seconds += since(t0);
        return stop_run(stop, epoch, it + 1, epoch);
      }
    }
    const double train_seconds = partial_seconds + since(t0);
    // Mean step timings over ranks (one small all-reduce), for the data-wait and all-reduce shares.
    std::vector<double> timing{wait_seconds, step_seconds, comm_seconds};
    all_reduce_values(group.get(), timing, 0, "the epoch timing all-reduce");
    Json row = Json::object();
    row["epoch"] = epoch + 1;
    row["train_loss"] = loss_sum / double(iters);
    row["lr"] = lr;
    const bool do_val = !val_names.empty() && ((epoch + 1) % std::max<int64_t>(1, o.val_every) == 0 || epoch + 1 == o.epochs);
    if (do_val) {
      DiceSums sums = validate(net, precision, val_cases, run.plan, num_classes, signals);
      if (group) {
        std::vector<double> v = sums.sum;
        v.insert(v.end(), sums.count.begin(), sums.count.end());
        all_reduce_values(group.get(), v, 0, "the validation all-reduce");
        std::copy(v.begin(), v.begin() + ptrdiff_t(sums.sum.size()), sums.sum.begin());
        std::copy(v.begin() + ptrdiff_t(sums.sum.size()), v.end(), sums.count.begin());
      }
      const auto dice = dice_means(sums);
      const double mean = finite_mean(dice);
      if (std::isfinite(mean)) ema = std::isfinite(ema) ? 0.9 * ema + 0.1 * mean : mean;
      Json per = Json::object();
      for (size_t k = 0; k < dice.size() && k < label_names.size(); ++k) per[label_names[k]] = number_or_null(dice[k]);
      row["val_dice"] = per;
      row["val_dice_mean"] = number_or_null(mean);
      row["val_dice_ema"] = number_or_null(ema);
      result.final_val_dice = dice;
      if (std::isfinite(ema) && ema > best_ema) {
        best_ema = ema;
        best_epoch = epoch + 1;
        if (lead) models::write_weights(net, best, true);
      }
    }
    const double seconds = partial_seconds + since(t0);
    row["epoch_seconds"] = seconds;
    row["samples_per_second"] = double(batch * iters * world) / std::max(1e-9, train_seconds);
    row["data_wait_fraction"] = timing[1] > 0 ? timing[0] / timing[1] : 0.0;
    if (group) row["allreduce_fraction"] = timing[1] > 0 ? timing[2] / timing[1] : 0.0;
    rows.push_back(row);
    const std::string line = fmt::format(
        "epoch {}/{}: loss {:.4f}, lr {:.5f}{}, {:.1f} s, {:.1f} samples/s, data wait {:.1f}%", epoch + 1, o.epochs,
        loss_sum / double(iters), lr,
        do_val ? fmt::format(", val Dice {:.3f} (smoothed {:.3f})",
                             row["val_dice_mean"].is_number() ? row["val_dice_mean"].as_double() : std::nan(""), ema)
               : "",
        seconds, row["samples_per_second"].as_double(), 100 * row["data_wait_fraction"].as_double());
    if (lead) log::info("{}", line);
    else log::debug("rank {}: {}", rank, line);
    result.final_train_loss = loss_sum / double(iters);
    loss_sum = 0, partial_seconds = 0, wait_seconds = 0, step_seconds = 0, comm_seconds = 0;
    if (lead) {
      detail::save_checkpoint(latest, net, *opt, meta_now(epoch + 1, 0));
      write_training_logs(out, rows);
    }
    std::vector<double> none;
    if (const int sig = all_reduce_values(group.get(), none, signals.signal(), "the end-of-epoch all-reduce"))
      return stop_run(sig, epoch + 1, 0, epoch + 1);
  }

  result.parameters_sha256 = parameters_sha256(net);
  result.epochs_done = o.epochs;
  result.best_ema_dice = best_ema;
  result.best_epoch = best_epoch;
  if (!lead) {
    group->barrier("the final barrier (rank 0 writing the bundle)");
    return result;
  }
  // The bundle: planned spec + training record, weights of the final epoch (nnU-Net's default).
  models::ModelBundle spec = planned_spec;
  spec.training["state"] = "trained";
  spec.training["fold"] = o.fold < 0 ? Json("all") : Json(o.fold);
  Json opts = Json::object();
  opts["epochs"] = o.epochs;
  opts["iterations_per_epoch"] = iters;
  opts["batch_size"] = batch;
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
  spec.training["options"] = opts;
  spec.training["best_epoch"] = best_epoch;
  spec.training["best_val_dice_ema"] = number_or_null(best_ema);
  Json last = rows.empty() ? Json::object() : rows.back();
  spec.training["final"] = last;
  Json val = Json::array();
  for (const auto& n : val_names) val.push_back(n);
  spec.training["validation_cases"] = val;
  if (!o.name.empty()) spec.name = o.name;
  models::save_bundle(out, spec, net, true);
  if (group) group->barrier("the final barrier (rank 0 writing the bundle)");
  result.summary = spec.training;
  return result;
}

}  // namespace voxseg::train
