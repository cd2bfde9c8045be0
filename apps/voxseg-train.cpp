// voxseg train: check a labeled dataset, plan a U-Net for it, train it into a model bundle.
#include "voxseg/cli/app.h"
#include "voxseg/train/command.h"

namespace {
namespace vt = voxseg::train;

struct Args {
  std::vector<std::string> positional;  // [plan|run] DATASET
  std::string fold = "0";
  bool check_only = false, no_augment = false;
  vt::TrainOptions o;
};

const char* kExamples =
    "  voxseg train --check-only data/Dataset001\n"
    "  voxseg train plan data/Dataset001 -o runs/ct --memory-gb 2\n"
    "  voxseg train run data/Dataset001 -o runs/ct --epochs 50 --fold 0 --precision bf16\n"
    "  voxseg train run data/Dataset001 -o runs/ct --resume\n"
    "  voxseg train run cases.csv --dataset-json labels.json -o runs/cells --instances --fold all\n"
    "  voxseg train run data/Dataset001 -o runs/ct --world-size 2 --rank 0 --master-addr node1 --master-port 29500\n"
    "  srun --ntasks=4 voxseg train run data/Dataset001 -o runs/ct   # ranks from SLURM_NTASKS/SLURM_PROCID\n";

void declare(CLI::App& app, Args& a) {
  auto& o = a.o;
  app.add_option("args", a.positional, "[plan|run] DATASET: nnU-Net folder (dataset.json, imagesTr/, labelsTr/) or CSV")
      ->required();
  app.add_option("-o,--output", o.output, "bundle folder (also checkpoints, logs, cache)");
  app.add_flag("--check-only", a.check_only, "validate the dataset, list every problem per case, exit");
  app.add_option("--dataset-json", o.dataset_json, "CSV datasets: JSON with channel_names and labels");
  app.add_flag("--instances", o.instances, "label maps hold instance ids: train background/interior/boundary");
  app.add_option("--cache", o.cache, "preprocessed-case cache folder (default OUTPUT/cache), reused across runs");
  app.add_option("--fold", a.fold, "held-out fold 0..folds-1, or 'all' (no validation)");
  app.add_option("--folds", o.folds, "number of folds (default 5)")->check(CLI::Range(2, 100));
  app.add_option("--epochs", o.epochs, "epochs (default 100)")->check(CLI::PositiveNumber);
  app.add_option("--iterations", o.iterations_per_epoch, "batches per epoch (default 250)")->check(CLI::PositiveNumber);
  app.add_option("--val-every", o.val_every, "validate every N epochs (default 1)")->check(CLI::PositiveNumber);
  app.add_option("--max-val-cases", o.max_val_cases, "validate on at most N held-out cases (0: all)");
  app.add_option("--optimizer", o.optimizer, "sgd (Nesterov, momentum 0.99) or adamw")->check(CLI::IsMember({"sgd", "adamw"}));
  app.add_option("--lr", o.lr, "initial learning rate, poly decay (default 0.01)")->check(CLI::PositiveNumber);
  app.add_option("--weight-decay", o.weight_decay, "default 3e-5")->check(CLI::NonNegativeNumber);
  app.add_option("--grad-clip", o.grad_clip, "gradient norm clip (default 12)")->check(CLI::PositiveNumber);
  app.add_option("--precision", o.precision, "fp32 or bf16 (autocast; transposed convs stay fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  app.add_option("--device", o.device, "auto|cpu|cuda[:N] (default auto: GPU 0 when usable, else the CPU)");
  app.add_option("--seed", o.seed, "seed of initialisation, sampling and augmentation (default 0)");
  app.add_option("--workers", o.workers, "batch-loader threads (default 1; 0: load in the training thread)")
      ->check(CLI::Range(0, 64));
  app.add_option("--prefetch", o.prefetch, "batches made ahead (default 4)")->check(CLI::Range(1, 256));
  auto& d = o.distributed;
  app.add_option("--world-size", d.world_size, "processes training together (default WORLD_SIZE, SLURM_NTASKS, 1)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--rank", d.rank, "this process's rank 0..N-1 (default RANK, SLURM_PROCID, 0)")->check(CLI::Range(0, 4095));
  app.add_option("--master-addr", d.master_addr, "host of rank 0 (default MASTER_ADDR, first Slurm node, 127.0.0.1)");
  app.add_option("--master-port", d.master_port, "rank 0's TCP port (default MASTER_PORT, 29500)")->check(CLI::Range(1, 65535));
  app.add_option("--dist-timeout", d.timeout_s, "seconds before a missing or silent rank is an error (default 600)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--resume", o.resume, "continue the run in OUTPUT exactly where its last checkpoint stopped");
  app.add_option("--memory-gb", o.plan.memory_gb, "planning: activation memory budget (default 4)")->check(CLI::PositiveNumber);
  app.add_option("--base-features", o.plan.base_features, "planning: features of stage 0 (default 32)")->check(CLI::PositiveNumber);
  app.add_option("--max-features", o.plan.max_features, "planning: feature cap (default 320)")->check(CLI::PositiveNumber);
  app.add_option("--max-stages", o.plan.max_stages, "planning: at most N resolution stages (default 6)")->check(CLI::Range(2, 8));
  app.add_option("--max-patch-voxels", o.plan.max_patch_voxels_zyx, "planning: cap the patch's voxel count (0: none)");
  app.add_flag("--no-augment", a.no_augment, "no data augmentation (debugging)");
  app.add_option("--elastic", o.augment.p_elastic, "probability of elastic deformation (default 0)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--foreground-probability", o.augment.p_force_foreground,
                 "share of patches centred on a foreground voxel (default 0.333)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--class-sampling", o.augment.class_sampling, "centre class of those: uniform (default), rare, or lesion (rare, then each component equally)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, vt::ClassSampling>{
          {"uniform", vt::ClassSampling::Uniform}, {"rare", vt::ClassSampling::Rare}, {"lesion", vt::ClassSampling::Lesion}}));
  app.add_option("--name", o.name, "model name in model.json (default: output folder name)");
  app.add_option("--description", o.description, "model description in model.json");
}

voxseg::ExitCode execute(Args& a, voxseg::cli::Context& ctx) {
  auto& o = a.o;
  const auto action = vt::parse_train_arguments(a.positional, o.dataset);
  o.force = ctx.force();
  o.augment.enabled = !a.no_augment;
  o.fold = vt::parse_fold(a.fold);
  vt::TrainReport report;
  if (a.check_only) report = vt::check_dataset(o, ctx.progress("check"));
  else if (action == vt::TrainAction::Plan) report = vt::plan_run(o, ctx.progress("plan"));
  else report = vt::train_run(o, ctx.progress("train"));
  if (report.print) {
    voxseg::Json r = ctx.provenance();
    for (const auto& [key, value] : report.fields.as_object()) r[key] = value;
    ctx.print_result(r, report.text);
  }
  return report.code;
}
}  // namespace

int main(int argc, char** argv) { return voxseg::cli::run<Args>(argc, argv, {"train", kExamples}, declare, execute); }
