// The training loop: loader threads, SGD/AdamW with poly LR, deep supervision, validation with the
// sliding-window engine, atomic checkpoints, exact resume, signal handling, and the final bundle.
#include "voxseg/train/trainer.h"

#include <signal.h>
#include <unistd.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/infer/sliding_window.h"
#include "voxseg/models/bundle.h"
#include "voxseg/models/unet.h"
#include "voxseg/train/detail/prepare.h"
#include "voxseg/train/losses.h"

extern "C" void omp_set_num_threads(int);  // libgomp, which LibTorch uses for intra-op threads

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

// ---- batches: made by worker threads, each depending only on (seed, step) ------------------------
using Batch = std::pair<at::Tensor, at::Tensor>;

Batch make_batch(const std::vector<CaseArrays>& cases, const Size3& patch, int64_t batch, const AugmentOptions& aug,
                 uint64_t seed, int64_t step) {
  const uint64_t step_seed = mix_seed(seed, uint64_t(step));
  std::mt19937_64 rng(step_seed);
  std::vector<Sample> samples;
  for (int64_t b = 0; b < batch; ++b) {
    const size_t ci = size_t(rng() % cases.size());
    samples.push_back(make_sample(cases[ci], patch, aug, mix_seed(step_seed, uint64_t(b) + 1000)));
  }
  return collate(samples);
}

class BatchLoader {
 public:
  BatchLoader(const std::vector<CaseArrays>& cases, Size3 patch, int64_t batch, AugmentOptions aug, uint64_t seed,
              int workers, int prefetch, int64_t first_step)
      : cases_(cases), patch_(patch), batch_(batch), aug_(std::move(aug)), seed_(seed),
        prefetch_(std::max(1, prefetch)), next_make_(first_step), next_take_(first_step) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~BatchLoader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Batch get(int64_t step) {
    if (threads_.empty()) return make_batch(cases_, patch_, batch_, aug_, seed_, step);
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(step) || error_; });
    if (error_) std::rethrow_exception(error_);
    Batch b = std::move(ready_[step]);
    ready_.erase(step);
    next_take_ = step + 1;
    cv_.notify_all();
    return b;
  }

 private:
  void work() {
    omp_set_num_threads(1);  // augmentation runs single-threaded per worker: no oversubscription
    for (;;) {
      int64_t step;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || next_make_ < next_take_ + prefetch_; });
        if (stop_) return;
        step = next_make_++;
      }
      try {
        Batch b = make_batch(cases_, patch_, batch_, aug_, seed_, step);
        std::lock_guard<std::mutex> lock(mutex_);
        ready_[step] = std::move(b);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
      }
      cv_.notify_all();
    }
  }
  const std::vector<CaseArrays>& cases_;
  Size3 patch_;
  int64_t batch_;
  AugmentOptions aug_;
  uint64_t seed_;
  int64_t prefetch_;
  int64_t next_make_, next_take_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::map<int64_t, Batch> ready_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
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

// ---- checkpoints -----------------------------------------------------------------------------------
void save_checkpoint(const fs::path& path, models::UNet& net, torch::optim::Optimizer& opt, const Json& meta) {
  torch::serialize::OutputArchive root, model_ar, opt_ar;
  net.module()->save(model_ar);
  opt.save(opt_ar);
  root.write("model", model_ar);
  root.write("optimizer", opt_ar);
  root.write("meta", c10::IValue(meta.dump()));
  AtomicFile file(path, true);
  try {
    root.save_to(file.temp_path().string());
  } catch (const c10::Error& e) {
    fail(ExitCode::CannotWrite, "cannot write checkpoint '{}': {}", path.string(), e.what_without_backtrace());
  }
  file.commit();
}

Json load_checkpoint(const fs::path& path, models::UNet& net, torch::optim::Optimizer& opt) {
  try {
    torch::serialize::InputArchive root, model_ar, opt_ar;
    root.load_from(path.string());
    root.read("model", model_ar);
    net.module()->load(model_ar);
    root.read("optimizer", opt_ar);
    opt.load(opt_ar);
    c10::IValue meta;
    root.read("meta", meta);
    return Json::parse(meta.toStringRef());
  } catch (const c10::Error& e) {
    fail(ExitCode::BadModel, "cannot resume from checkpoint '{}': {}", path.string(), e.what_without_backtrace());
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadModel, "cannot resume from checkpoint '{}': metadata: {}", path.string(), e.what());
  }
}

Json number_or_null(double v) { return std::isfinite(v) ? Json(v) : Json(); }

// Mean per label over cases (NaN = label absent in both: left out), and their mean.
std::vector<double> validate(models::UNet& net, models::Precision precision, const std::vector<CaseArrays>& cases,
                             const TrainPlan& plan, int64_t num_classes, const StopSignals& signals) {
  std::vector<double> sum(size_t(num_classes - 1), 0.0), count(size_t(num_classes - 1), 0.0);
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
      if (std::isfinite(d[k])) sum[k] += d[k], count[k] += 1;
  }
  net.train(true);
  std::vector<double> out;
  for (size_t k = 0; k < sum.size(); ++k) out.push_back(count[k] > 0 ? sum[k] / count[k] : std::nan(""));
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

// The planned run stored in <output>/model.json (possibly edited), or nullopt.
std::optional<PlannedRun> stored_plan(const fs::path& output, const Dataset& ds) {
  const fs::path file = output / "model.json";
  if (!fs::exists(file)) return std::nullopt;
  const Json j = read_json_file(file.string(), ExitCode::BadModel);
  const Json* t = j.find("training");
  if (!t || !t->find("plan")) return std::nullopt;
  PlannedRun run;
  run.dataset = ds;
  try {
    run.plan = plan_from_json(*t->find("plan"));
    if (const Json* f = t->find("fingerprint")) run.fingerprint = fingerprint_from_json(*f);
    if (const Json* s = t->find("splits"))
      for (const auto& fold : s->as_array()) {
        std::vector<std::string> tr, va;
        for (const auto& n : fold.find("train")->as_array()) tr.push_back(n.as_string());
        for (const auto& n : fold.find("val")->as_array()) va.push_back(n.as_string());
        run.splits.emplace_back(tr, va);
      }
  } catch (const std::exception& e) {
    fail(ExitCode::BadModel, "invalid plan in '{}': field 'training.plan': {}", file.string(), e.what());
  }
  run.plan.network.num_classes = ds.instances ? 3 : ds.labels.back().id + 1;
  if (int64_t(ds.channel_names.size()) != run.plan.network.in_channels)
    fail(ExitCode::BadModel, "invalid plan in '{}': field 'training.plan.normalization': {} entries for {} channels",
         file.string(), run.plan.network.in_channels, ds.channel_names.size());
  return run;
}

}  // namespace

void write_planned_bundle(const PlannedRun& run, const TrainOptions& o) {
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) fail(ExitCode::CannotWrite, "cannot create output folder '{}': {}", o.output.string(), ec.message());
  write_text_atomic(o.output / "model.json", models::bundle_to_json(detail::bundle_spec(run, o)).dump(2) + "\n", o.force);
}

TrainResult run_training(const TrainOptions& o, Progress progress) {
  const fs::path out = o.output;
  const fs::path latest = out / "checkpoint_latest.pt", best = out / "checkpoint_best.pt";
  std::error_code ec;
  const bool has_checkpoint = fs::exists(latest, ec);
  if (o.resume && !has_checkpoint)
    fail(ExitCode::BadInput, "nothing to resume: '{}' does not exist", latest.string());
  if (!o.resume && !o.force) {
    if (has_checkpoint)
      fail(ExitCode::CannotWrite, "'{}' already holds a training run; use --resume to continue it or --force to start over",
           out.string());
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
  Dataset ds = read_dataset(o.dataset, o.dataset_json);
  if (o.instances) ds.instances = true;
  auto prep = progress.child("prepare", 0.05);
  const DatasetScan scan = scan_dataset(ds, prep.child("scan", 0.5));
  detail::fail_on_problems(ds, scan.problems);
  std::optional<PlannedRun> stored = stored_plan(out, ds);
  PlannedRun run;
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
  const int64_t num_classes = run.plan.network.num_classes;
  const models::ModelBundle planned_spec = detail::bundle_spec(run, o);
  if (!stored) write_text_atomic(out / "model.json", models::bundle_to_json(planned_spec).dump(2) + "\n", true);

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
  const fs::path cache_dir = o.cache.empty() ? out / "cache" : o.cache;
  const auto train_cases = detail::load_cached_cases(ds, train_names, run.plan, cache_dir, num_classes, o.seed,
                                                     prep.child("cache", 0.4));
  const auto val_cases = detail::load_cached_cases(ds, val_names, run.plan, cache_dir, num_classes, o.seed + 1,
                                                   prep.child("cache", 0.1));

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

  std::vector<Json> rows;
  int64_t start_epoch = 0, start_iter = 0;
  double loss_sum = 0, partial_seconds = 0;
  double ema = std::nan(""), best_ema = -1;
  int64_t best_epoch = -1;
  if (o.resume) {
    const Json meta = load_checkpoint(latest, net, *opt);
    try {
      start_epoch = meta.find("epoch")->as_int();
      start_iter = meta.find("iteration")->as_int();
      loss_sum = meta.find("loss_sum")->as_double();
      partial_seconds = meta.find("partial_seconds")->as_double();
      if (meta.find("ema")->is_number()) ema = meta.find("ema")->as_double();
      best_ema = meta.find("best_ema")->as_double();
      best_epoch = meta.find("best_epoch")->as_int();
      for (const auto& r : meta.find("rows")->as_array()) rows.push_back(r);
      if (meta.find("seed")->as_int() != int64_t(o.seed) || meta.find("iterations_per_epoch")->as_int() != o.iterations_per_epoch)
        log::warn("resuming with a different --seed or --iterations than the checkpoint: the run will not match an uninterrupted one");
    } catch (const std::exception& e) {
      fail(ExitCode::BadModel, "cannot resume from checkpoint '{}': metadata incomplete ({})", latest.string(), e.what());
    }
    log::info("resuming at epoch {} step {}", start_epoch + 1, start_iter);
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
  StopSignals signals;
  BatchLoader loader(train_cases, run.plan.patch_size, batch, aug, o.seed, std::max(0, o.workers), o.prefetch,
                     start_epoch * iters + start_iter);
  auto meta_now = [&](int64_t epoch, int64_t iter) {
    Json m = Json::object();
    m["epoch"] = epoch;
    m["iteration"] = iter;
    m["loss_sum"] = loss_sum;
    m["partial_seconds"] = partial_seconds;
    m["ema"] = number_or_null(ema);
    m["best_ema"] = best_ema;
    m["best_epoch"] = best_epoch;
    m["seed"] = int64_t(o.seed);
    m["iterations_per_epoch"] = iters;
    m["fold"] = o.fold;
    Json r = Json::array();
    for (const auto& row : rows) r.push_back(row);
    m["rows"] = r;
    return m;
  };

  for (int64_t epoch = start_epoch; epoch < o.epochs; ++epoch) {
    const double lr = poly_lr(o.lr, epoch, o.epochs);
    for (auto& g : opt->param_groups()) g.options().set_lr(lr);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t first_iter = epoch == start_epoch ? start_iter : 0;
    if (epoch != start_epoch) loss_sum = 0, partial_seconds = 0;
    for (int64_t it = first_iter; it < iters; ++it) {
      auto [x, y] = loader.get(epoch * iters + it);
      x = x.to(device);
      y = y.to(device);
      opt->zero_grad();
      std::vector<at::Tensor> outs;
      {
        models::PrecisionScope scope(precision, device);
        outs = net.forward_all(x);
      }
      for (auto& t : outs) t = t.to(torch::kFloat);
      auto loss = deep_supervision_loss(outs, y);
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, o.grad_clip);
      opt->step();
      loss_sum += loss.item<double>();
      train_progress.advance();
      if (const int sig = signals.signal()) {
        partial_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        save_checkpoint(latest, net, *opt, meta_now(epoch, it + 1));
        log::warn("stopped by signal {} at epoch {} step {}; checkpoint saved to '{}' (continue with --resume)", sig,
                  epoch + 1, it + 1, latest.string());
        result.interrupted = true;
        result.signal = sig;
        result.epochs_done = epoch;
        return result;
      }
    }
    const double train_seconds =
        partial_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Json row = Json::object();
    row["epoch"] = epoch + 1;
    row["train_loss"] = loss_sum / double(iters);
    row["lr"] = lr;
    const bool do_val = !val_cases.empty() && ((epoch + 1) % std::max<int64_t>(1, o.val_every) == 0 || epoch + 1 == o.epochs);
    if (do_val) {
      const auto dice = validate(net, precision, val_cases, run.plan, num_classes, signals);
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
        models::write_weights(net, best, true);
      }
    }
    const double seconds = partial_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    row["epoch_seconds"] = seconds;
    row["samples_per_second"] = double(batch * iters) / std::max(1e-9, train_seconds);
    rows.push_back(row);
    log::info("epoch {}/{}: loss {:.4f}, lr {:.5f}{}, {:.1f} s, {:.1f} samples/s", epoch + 1, o.epochs,
              loss_sum / double(iters), lr,
              do_val ? fmt::format(", val Dice {:.3f} (smoothed {:.3f})", row["val_dice_mean"].is_number() ? row["val_dice_mean"].as_double() : std::nan(""), ema) : "",
              seconds, row["samples_per_second"].as_double());
    result.final_train_loss = loss_sum / double(iters);
    loss_sum = 0;
    partial_seconds = 0;
    save_checkpoint(latest, net, *opt, meta_now(epoch + 1, 0));
    write_training_logs(out, rows);
    if (const int sig = signals.signal()) {
      log::warn("stopped by signal {} after epoch {}; checkpoint saved to '{}' (continue with --resume)", sig, epoch + 1,
                latest.string());
      result.interrupted = true;
      result.signal = sig;
      result.epochs_done = epoch + 1;
      return result;
    }
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
  result.epochs_done = o.epochs;
  result.best_ema_dice = best_ema;
  result.best_epoch = best_epoch;
  result.summary = spec.training;
  return result;
}

}  // namespace voxseg::train
