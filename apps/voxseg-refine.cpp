// voxseg refine: box- and point-prompted SAM / MedSAM segmentation of images and volumes, or
// refinement of an existing label map (one box per connected component and slice).
#include <filesystem>

#include "voxseg/cli/app.h"
#include "voxseg/cli/batch.h"
#include "voxseg/core/log.h"
#include "voxseg/core/runtime_info.h"
#include "voxseg/refine/run_case.h"

namespace {

struct Args {
  std::string input, output, checkpoint, preset = "sam", device = "auto", precision = "fp32";
  std::string mode = "replace", multimask = "auto", cache;
  voxseg::refine::CaseOptions options;
};

void declare(CLI::App& app, Args& a) {
  auto& p = a.options.prompts;
  app.add_option("-i,--input", a.input, "volume, DICOM folder, or 8-bit PNG/JPEG/TIFF/BMP image")->required();
  app.add_option("-o,--output", a.output, "label map (input grid); .png etc. for a 2D input")->required();
  app.add_option("--sam", a.checkpoint, "SAM or MedSAM checkpoint (.pth)")->required();
  app.add_option("--preset", a.preset, "sam (SamPredictor) | medsam (MedSAM_Inference.py) pre/post-processing")
      ->capture_default_str();
  app.add_option("--box", p.boxes, "X0,Y0,X1,Y1 (2D) or X0,Y0,X1,Y1,Z0,Z1 (voxel indices, inclusive); repeatable");
  app.add_option("--point", p.points, "X,Y[,Z]:1|0 positive/negative point; repeatable");
  app.add_option("--labels", p.labels, "label map to refine (one box per component and slice)");
  app.add_option("--prompts", p.prompts_json, "JSON file of per-label boxes and points (docs/refine.md)");
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
  app.add_option("--logits", a.options.logits, "also write float32 mask logits (one channel per label)");
  app.add_option("--cache", a.cache, "folder of cached image embeddings (re-prompting skips the encoder)");
  app.add_option("--batch-size", a.options.engine.batch_size, "slices per encoder call")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--device", a.device, "auto|cpu|cuda[:N]")->capture_default_str();
  app.add_option("--precision", a.precision, "fp32|bf16|fp16 (bf16 also on the CPU)")->capture_default_str();
}

voxseg::ExitCode execute(Args& a, voxseg::cli::Context& ctx) {
  using namespace voxseg;
  auto& o = a.options;
  o.force = ctx.force();
  o.engine.preset = refine::parse_preset(a.preset);
  o.engine.mode = refine::parse_merge_mode(a.mode);
  o.engine.multimask = refine::parse_multimask(a.multimask);
  if (o.engine.propagate) o.engine.margin = o.prompts.margin;
  refine::check_case_options(o, a.output);  // usage and existing outputs (exit 2 / 5) before any work
  warn_if_slow_blas();  // the reference BLAS makes the encoder ~40x slower
  const refine::EmbeddingCache cache = a.cache.empty() ? refine::EmbeddingCache() : refine::EmbeddingCache(a.cache);
  cli::Batch batch{ctx};
  const std::string name = std::filesystem::path(a.input).filename().string();
  batch.run(name, a.input, [&](cli::Case& c) {
    const auto out = c.claim_output_path(a.output);
    if (!out) return;
    const refine::PreparedCase prepared = refine::prepare_case(a.input, *out, o);  // bad input or prompts: 3 / 2
    const auto network = refine::load_sam_network(a.checkpoint, a.device, a.precision);  // exit 4 / 6
    Json r = refine::refine_case(prepared, *out, *network, o, cache, c.progress("refine"));
    r["checkpoint"] = a.checkpoint;
    r["device"] = a.device;
    r["precision"] = a.precision;
    const Json counts = *r.find("counts");
    for (const auto& key : {"input", "output", "logits", "checkpoint", "preset", "window", "device", "precision",
                            "labels", "counts", "timings", "prompts"})
      if (const Json* v = r.find(key)) c.report(key, *v);
    c.set_summary(fmt::format("{}: {} ({} prompts on {} slices; {} encoded, {} from cache)", name, out->string(),
                              counts.find("prompts")->as_int(), counts.find("slices")->as_int(),
                              counts.find("encoded")->as_int(), counts.find("cache_hits")->as_int()));
  });
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
      "Exit codes: 0 ok, 2 usage (bad box or prompt), 3 bad input, 4 bad checkpoint, 5 cannot write, 6 device.";
  return voxseg::cli::run<Args>(argc, argv, {"refine", examples}, declare, execute);
}
