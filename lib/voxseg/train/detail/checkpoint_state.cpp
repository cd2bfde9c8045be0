#include "voxseg/train/detail/checkpoint_state.h"

#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/json_fields.h"

namespace fs = std::filesystem;

namespace voxseg::train::detail {

Json checkpoint_meta_to_json(const CheckpointMeta& c) {
  Json m = Json::object();
  m["epoch"] = c.epoch;
  m["iteration"] = c.iteration;
  m["loss_sum"] = c.loss_sum;
  m["partial_seconds"] = c.partial_seconds;
  m["partial_wait_seconds"] = c.partial_wait_seconds;
  m["partial_step_seconds"] = c.partial_step_seconds;
  m["partial_comm_seconds"] = c.partial_comm_seconds;
  m["ema"] = std::isfinite(c.ema) ? Json(c.ema) : Json();
  m["best_ema"] = c.best_ema;
  m["best_epoch"] = c.best_epoch;
  m["seed"] = int64_t(c.seed);
  m["iterations_per_epoch"] = c.iterations_per_epoch;
  m["fold"] = c.fold;
  m["world_size"] = c.world_size;
  Json rows = Json::array();
  for (const auto& row : c.rows) rows.push_back(row);
  m["rows"] = rows;
  return m;
}

CheckpointMeta checkpoint_meta_from_json(const Json& j) {
  json::require_object(j, "meta");
  const auto need = [&](std::string_view key) -> const Json& { return json::require_member(j, key, ""); };
  const auto number_or = [&](std::string_view key, double fallback) {
    const Json* v = json::optional_member(j, key);
    return v ? json::read_number(*v, std::string(key)) : fallback;
  };
  CheckpointMeta c;
  c.epoch = json::read_int(need("epoch"), "epoch");
  c.iteration = json::read_int(need("iteration"), "iteration");
  c.loss_sum = json::read_number(need("loss_sum"), "loss_sum");
  c.partial_seconds = json::read_number(need("partial_seconds"), "partial_seconds");
  c.partial_wait_seconds = number_or("partial_wait_seconds", 0);  // absent in checkpoints of older versions
  c.partial_step_seconds = number_or("partial_step_seconds", 0);
  c.partial_comm_seconds = number_or("partial_comm_seconds", 0);
  c.ema = number_or("ema", std::nan(""));  // null before the first validation
  c.best_ema = json::read_number(need("best_ema"), "best_ema");
  c.best_epoch = json::read_int(need("best_epoch"), "best_epoch");
  c.seed = uint64_t(json::read_int(need("seed"), "seed"));
  c.iterations_per_epoch = json::read_int(need("iterations_per_epoch"), "iterations_per_epoch");
  if (const Json* v = json::optional_member(j, "fold")) c.fold = int(json::read_int(*v, "fold"));
  c.world_size = int(number_or("world_size", 1));
  const Json& rows = need("rows");
  if (!rows.is_array()) json::field_error("rows", "expected a list");
  c.rows = rows.as_array();
  return c;
}

void save_checkpoint(const fs::path& path, models::UNet& net, torch::optim::Optimizer& opt, const CheckpointMeta& meta) {
  torch::serialize::OutputArchive root, model_ar, opt_ar;
  net.module()->save(model_ar);
  opt.save(opt_ar);
  root.write("model", model_ar);
  root.write("optimizer", opt_ar);
  root.write("meta", c10::IValue(checkpoint_meta_to_json(meta).dump()));
  AtomicFile file(path, true);
  try {
    root.save_to(file.temp_path().string());
  } catch (const c10::Error& e) {
    fail(ExitCode::CannotWrite, "cannot write checkpoint '{}': {}", path.string(), e.what_without_backtrace());
  }
  file.commit();
}

CheckpointMeta load_checkpoint(const fs::path& path, const std::string* bytes, models::UNet& net,
                               torch::optim::Optimizer& opt) {
  Json meta;
  try {
    torch::serialize::InputArchive root, model_ar, opt_ar;
    if (bytes) root.load_from(bytes->data(), bytes->size());
    else root.load_from(path.string());
    root.read("model", model_ar);
    net.module()->load(model_ar);
    root.read("optimizer", opt_ar);
    opt.load(opt_ar);
    c10::IValue text;
    root.read("meta", text);
    meta = Json::parse(text.toStringRef());
  } catch (const c10::Error& e) {
    fail(ExitCode::BadModel, "cannot resume from checkpoint '{}': {}", path.string(), e.what_without_backtrace());
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadModel, "cannot resume from checkpoint '{}': metadata: {}", path.string(), e.what());
  }
  try {
    return checkpoint_meta_from_json(meta);
  } catch (const std::invalid_argument& e) {
    fail(ExitCode::BadModel, "cannot resume from checkpoint '{}': metadata incomplete ({})", path.string(), e.what());
  }
}

std::string read_checkpoint_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) fail(ExitCode::BadModel, "cannot read checkpoint '{}'", path.string());
  return s;
}

}  // namespace voxseg::train::detail
