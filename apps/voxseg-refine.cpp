// voxseg refine: box- and point-prompted SAM / MedSAM segmentation of images and volumes, or
// refinement of an existing label map (one box per connected component and slice).
#include <filesystem>

#include "voxseg/cli/app.h"
#include "voxseg/cli/batch.h"
#include "voxseg/cli/case_list.h"
#include "voxseg/cli/volume_output.h"
#include "voxseg/core/runtime_info.h"
#include "voxseg/refine/batch.h"

namespace {
namespace fs = std::filesystem;

struct Args {
  std::vector<std::string> inputs;
  std::string output, checkpoint, preset = "sam", device = "auto", precision = "fp32", ext = ".nii.gz";
  std::string mode = "replace", multimask = "auto", cache;
  voxseg::refine::CaseOptions options;
  voxseg::cli::CaseListOptions cases;
};

void declare(CLI::App& app, Args& a) {
  auto& p = a.options.prompts;
  app.add_option("inputs,-i,--input", a.inputs, "volume, DICOM folder, 8-bit PNG/JPEG/TIFF/BMP image; or a batch: "
                 "several, folders of cases, - (paths on stdin)")->required();
  app.add_option("-o,--output", a.output, "label map (input grid; .png etc. for a 2D input), or a folder (batch)")
      ->required();
  app.add_option("--sam", a.checkpoint, "SAM or MedSAM checkpoint (.pth)")->required();
  app.add_option("--preset", a.preset, "sam (SamPredictor) | medsam (MedSAM_Inference.py) pre/post-processing")
      ->capture_default_str();
  app.add_option("--box", p.boxes, "X0,Y0,X1,Y1 (2D) or X0,Y0,X1,Y1,Z0,Z1 (voxel indices, inclusive); repeatable");
  app.add_option("--point", p.points, "X,Y[,Z]:1|0 positive/negative point; repeatable");
  app.add_option("--labels", p.labels, "label map to refine (one box per component and slice); batch: a folder, "
                 "DIR/<case>.nii.gz");
  app.add_option("--prompts", p.prompts_json, "JSON file of per-label boxes and points (docs/refine.md); batch: "
                 "a file or a folder, DIR/<case>.json");
  app.add_option("--axis", p.axis, "--labels: slice axis z|y|x")->capture_default_str();
  app.add_option("--margin", p.margin, "--labels: pixels around each component's box; --propagate: around the "
                 "previous mask")->capture_default_str();
  app.add_option("--mode", a.mode, "--labels: replace|intersect|union with the initial label map")
      ->capture_default_str();
  app.add_flag("--propagate", a.options.engine.propagate, "3D boxes: tighten each slice's box to the previous mask");
  app.add_option("--window", a.options.window, "auto|abdomen|lung|bone|brain|LEVEL,WIDTH|percentile|none")
      ->capture_default_str();
  app.add_option("--multimask", a.multimask, "on|off|auto (auto: on for a single point, off otherwise)")
      ->capture_default_str();
  app.add_option("--logits", a.options.logits, "also write float32 mask logits (a channel per label); batch: a folder");
  app.add_option("--cache", a.cache, "folder of cached image embeddings (re-prompting skips the encoder)");
  app.add_option("--batch-size", a.options.engine.batch_size, "slices per encoder call")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--device", a.device, "auto|cpu|cuda[:N]")->capture_default_str();
  app.add_option("--precision", a.precision, "fp32|bf16|fp16 (bf16 also on the CPU)")->capture_default_str();
  app.add_option("--ext", a.ext, "batch: output extension (.nii.gz, .nrrd, .mha)")->capture_default_str();
  voxseg::cli::add_case_list_options(app, a.cases);
}

voxseg::ExitCode execute(Args& a, voxseg::cli::Context& ctx) {
  using namespace voxseg;
  auto& o = a.options;
  o.force = ctx.force();
  o.engine.preset = refine::parse_preset(a.preset);
  o.engine.mode = refine::parse_merge_mode(a.mode);
  o.engine.multimask = refine::parse_multimask(a.multimask);
  if (o.engine.propagate) o.engine.margin = o.prompts.margin;
  const bool many = refine::is_batch(a.inputs, a.output);
  cli::VolumeOutput target{a.output, false, ""};
  if (many) {  // outputs, prompt folders and the case list before any work (exit 2 / 3 / 5)
    refine::check_batch_options(o);
    target = cli::prepare_volume_output(a.output, a.ext, ctx.force());
    if (target.single_file) fail(ExitCode::Usage, "-o '{}' names a file; a batch writes to a folder", a.output);
  } else {
    refine::check_case_options(o, a.output);  // usage and existing outputs (exit 2 / 5) before any work
  }
  const std::string& first = a.inputs.front();
  auto cases = many ? cli::list_cases(a.inputs, a.cases)
                    : std::vector<io::CaseInput>{{fs::path(first).filename().string(), first, ""}};
  cli::select_shard(a.cases.shard(), cases);
  warn_if_slow_blas();  // the reference BLAS makes the encoder ~40x slower
  const refine::EmbeddingCache cache = a.cache.empty() ? refine::EmbeddingCache() : refine::EmbeddingCache(a.cache);
  std::unique_ptr<refine::PromptNetwork> network;  // one input: loaded after it was read (bad input: 3, not 4)
  auto net = [&]() -> refine::PromptNetwork& {  // exit 4 / 6
    return *(network ? network : network = refine::load_sam_network(a.checkpoint, a.device, a.precision));
  };
  if (many && !cases.empty()) net();  // a batch: a bad checkpoint stops it before any case
  cli::Batch batch{ctx, cases.size()};
  for (const auto& input : cases) {
    batch.run(input.name, input.path, [&](cli::Case& c) {
      const auto out = many ? c.claim_output(target.path, target.ext) : c.claim_output_path(a.output);
      if (!out) return;
      const refine::CaseOptions co = many ? refine::case_options(o, input.name, *out) : o;
      const refine::PreparedCase prepared = refine::prepare_case(input.path, *out, co);  // bad input/prompts: 3 / 2
      Json r = refine::refine_case(prepared, *out, net(), co, cache, c.progress("refine"));
      r["checkpoint"] = a.checkpoint, r["device"] = a.device, r["precision"] = a.precision;
      const Json counts = *r.find("counts");
      for (const auto& key : {"input", "output", "logits", "checkpoint", "preset", "window", "device", "precision",
                              "labels", "counts", "timings", "prompts"})
        if (const Json* v = r.find(key)) c.report(key, *v);
      c.set_summary(fmt::format("{}: {} ({} prompts on {} slices; {} encoded, {} from cache)", input.name,
                                out->string(), counts.find("prompts")->as_int(), counts.find("slices")->as_int(),
                                counts.find("encoded")->as_int(), counts.find("cache_hits")->as_int()));
    }, input.error);
  }
  return batch.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg refine --sam sam_vit_b_01ec64.pth -i photo.png --box 40,30,200,180 -o mask.png\n"
      "  voxseg refine --sam medsam_vit_b.pth --preset medsam -i ct.nii.gz --box 100,120,180,200,40,60 -o m.nii.gz\n"
      "  voxseg refine --sam medsam_vit_b.pth --preset medsam -i ct.nii.gz --labels pred.nii.gz --margin 5 \\\n"
      "      --mode intersect --cache ~/.cache/voxseg-sam -o refined.nii.gz --json\n"
      "  voxseg refine --sam sam_vit_b_01ec64.pth -i ct.nii.gz --prompts prompts.json -o out.nii.gz\n"
      "  voxseg refine --sam medsam_vit_b.pth --preset medsam cts/ --labels predicted/ -o refined/ --shard 2/8\n"
      "Exit codes: 0 ok, 2 usage (bad box or prompt), 3 bad input, 4 bad checkpoint, 5 cannot write, 6 device,\n"
      "8 some cases of a batch failed (the others were written; rerun without --force to resume).";
  return voxseg::cli::run<Args>(argc, argv, {"refine", examples}, declare, execute);
}
