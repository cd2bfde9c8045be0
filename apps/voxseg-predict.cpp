// voxseg predict: segment volumes with a model bundle or an nnU-Net v2 folder (sliding window, TTA, streaming).
#include "voxseg/cli/app.h"
#include "voxseg/cli/batch.h"
#include "voxseg/cli/case_list.h"
#include "voxseg/cli/read_options.h"
#include "voxseg/cli/volume_output.h"
#include "voxseg/core/log.h"
#include "voxseg/core/runtime_info.h"
#include "voxseg/infer/model_source.h"
#include "voxseg/infer/nnunet_source.h"
#include "voxseg/infer/run_case.h"

namespace {

struct Args {
  std::vector<std::string> inputs;
  std::string output, model, device = "auto", precision = "fp32", ext = ".nii.gz", accumulator = "auto";
  voxseg::infer::NnunetSelection nnunet;
  std::string nnunet_dir, folds;
  voxseg::infer::PredictOptions predict;
  voxseg::cli::CaseListOptions cases;
};

void declare(CLI::App& app, Args& a) {
  app.add_option("inputs,-i,--input", a.inputs, "(-i optional) volume files, DICOM folders, folders of cases, or - (paths on stdin)")
      ->required();
  app.add_option("-o,--output", a.output, "output folder, or a label-map file when there is one case")->required();
  auto* model = app.add_option("-m,--model", a.model, "model bundle folder (model.json + weights)");
  auto* nnunet = app.add_option("--nnunet", a.nnunet_dir,
                                "nnU-Net v2 result folder (plans.json, dataset.json, fold_N/), or its dataset folder");
  model->excludes(nnunet);
  nnunet->excludes(model);
  app.add_option("--folds", a.folds, "--nnunet: folds to average, e.g. 0,1,2,3,4 or all (fold_all); "
                 "default every fold_N with the checkpoint")->needs(nnunet);
  app.add_option("--configuration", a.nnunet.configuration,
                 "--nnunet: 3d_fullres|3d_lowres|2d|...; default the folder's own")->needs(nnunet);
  app.add_option("--checkpoint", a.nnunet.checkpoint, "--nnunet: checkpoint file in each fold folder")
      ->needs(nnunet)->capture_default_str();
  app.add_option("--device", a.device, "auto|cpu|cuda[:N]")->capture_default_str();
  app.add_option("--precision", a.precision, "fp32|bf16|fp16 (bf16: autocast, also on the CPU)")->capture_default_str();
  app.add_option("--step", a.predict.step, "tile step as a fraction of the patch")
      ->check(CLI::Range(0.05, 1.0))->capture_default_str();
  app.add_option("--batch-size", a.predict.batch_size, "tiles per forward pass")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--tta,!--disable-tta", a.predict.tta, "mirroring test-time augmentation (default on, as nnU-Net)");
  app.add_option("--tta-batch", a.predict.tta_batch, "mirror copies per forward (0 auto)")->check(CLI::NonNegativeNumber);
  app.add_option("--accumulator", a.accumulator, "auto|fp32|fp16: blended logits slab type (auto: fp16 past 1 GiB)")
      ->capture_default_str();
  app.add_flag("--save-probabilities", a.predict.save_probabilities,
               "also write <case>_probabilities<ext>: softmax [K,Z,Y,X] float32");
  app.add_flag("--dicom-seg", a.predict.dicom_seg, "also write <case>.seg.dcm (DICOM SEG) for cases read from DICOM");
  app.add_flag("--largest-component", a.predict.postprocess.largest_component, "keep each label's largest component");
  app.add_flag("--fill-holes", a.predict.postprocess.fill_holes, "fill background enclosed by one label");
  app.add_option("--min-size-ml", a.predict.postprocess.min_size_ml, "drop components smaller than this (ml)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--connectivity", a.predict.postprocess.connectivity, "6|18|26 for components")
      ->check(CLI::IsMember({6, 18, 26}))->capture_default_str();
  voxseg::cli::add_read_options(app, a.predict.read);
  app.add_option("--ext", a.ext, "label-map extension in folder mode (.nii.gz, .nrrd, .mha)")->capture_default_str();
  voxseg::cli::add_case_list_options(app, a.cases);
}

voxseg::ExitCode execute(Args& a, voxseg::cli::Context& ctx) {
  using namespace voxseg;
  if (a.model.empty() == a.nnunet_dir.empty()) fail(ExitCode::Usage, "give a model: -m BUNDLE or --nnunet FOLDER");
  const models::Precision precision = models::parse_precision(a.precision);
  a.predict.accumulator = infer::parse_accumulator(a.accumulator);
  a.nnunet.folds = infer::parse_fold_list(a.folds);
  // Before the model: outputs (extension, exists, writable: exit 2/5) and the case list (collisions: 2).
  const cli::VolumeOutput target = cli::prepare_volume_output(a.output, a.ext, ctx.force());
  const auto files = cli::list_cases(a.inputs, a.cases);
  warn_if_slow_blas();
  // The device and the model are checked before any input is read (exit 6 / 4).
  infer::Model model = a.model.empty() ? infer::load_nnunet_model(a.nnunet_dir, a.nnunet, a.device, precision)
                                       : infer::load_model(a.model, a.device, precision);
  infer::PredictOptions options = a.predict;
  options.postprocess.largest_component |= model.postprocess.largest_component;
  options.postprocess.fill_holes |= model.postprocess.fill_holes;
  if (options.postprocess.min_size_ml == 0) options.postprocess.min_size_ml = model.postprocess.min_size_ml;
  auto cases = infer::group_channel_files(files, model.in_channels());
  if (options.dicom_seg) infer::check_dicom_seg_inputs(cases);  // exit 2 when no case is DICOM
  if (target.single_file && cases.size() != 1)
    fail(ExitCode::Usage, "-o '{}' is a file but there are {} cases; give a folder", a.output, cases.size());
  cli::select_shard(a.cases.shard(), cases);
  voxseg::log::info("model {} on {} ({}), {} case(s)", model.id, model.device, model.precision, cases.size());
  cli::Batch batch{ctx, cases.size()};
  for (const auto& input : cases) {
    batch.run(input.name, input.paths.empty() ? "" : input.paths.front(), [&](cli::Case& c) {
      const auto out = target.single_file ? c.claim_output_path(target.path) : c.claim_output(target.path, target.ext);
      if (!out) return;
      const Json r = infer::run_case(input, model, options, infer::case_outputs(*out), ctx.force(), ctx.provenance(),
                                     c.progress("predict"));
      for (const char* key : {"labels", "probabilities", "dicom_seg", "tiles", "timings", "peak_rss_mb", "device",
                              "precision", "runtime"})
        if (const Json* v = r.find(key)) c.report(key, *v);
      c.set_summary(fmt::format("{}: {} ({} tiles, {:.1f} s network, peak {:.0f} MB)", input.name, out->string(),
                                r.find("tiles")->as_int(), r.find("timings")->find("network_s")->as_double(),
                                r.find("peak_rss_mb")->as_double()));
    }, input.error);
  }
  return batch.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg predict -m models/abdomen ct.nii.gz -o ct_labels.nii.gz\n"
      "  voxseg predict -m models/abdomen cases/ -o out/ --step 0.5 --batch-size 2 --json\n"
      "  voxseg predict -m models/brain --precision bf16 --disable-tta --largest-component cases/ -o out/\n"
      "  ls cases/*.nii.gz | voxseg predict -m models/abdomen - -o out/\n"
      "  voxseg predict -m models/abdomen studies/ -o out/ --names path --shard $SLURM_ARRAY_TASK_ID/8\n"
      "  voxseg predict --nnunet nnUNet_results/Dataset003_Liver/nnUNetTrainer__nnUNetPlans__3d_fullres \\\n"
      "      --folds 0,1,2,3,4 imagesTs/ -o out/\n"
      "Multi-channel models take nnU-Net style CASE_0000.nii.gz, CASE_0001.nii.gz, ... (or one [C,Z,Y,X] file).\n"
      "Per case: <case><ext> (labels), <case>.json (report), <case>_probabilities<ext> (--save-probabilities).\n"
      "Exit codes: 0 ok, 2 usage, 3 bad input, 4 bad model, 5 cannot write, 6 device unavailable,\n"
      "8 some cases failed (the others were written; rerun without --force to resume).";
  return voxseg::cli::run<Args>(argc, argv, {"predict", examples}, declare, execute);
}
