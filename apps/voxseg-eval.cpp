// voxseg eval: overlap, surface-distance and instance metrics of predictions against references.
#include "voxseg/cli/app.h"
#include "voxseg/cli/batch.h"
#include "voxseg/cli/case_list.h"
#include "voxseg/metrics/evaluation.h"
#include "voxseg/metrics/labels.h"
#include "voxseg/metrics/report.h"

namespace {
namespace vm = voxseg::metrics;

struct Args {
  std::string pred, ref, pairs, image, labels, regions, label_table, tolerances, hd95 = "max", surface = "voxels";
  std::string lesions, lesion_match = "any";
  vm::EvalOptions eval;
  vm::OutputPaths out;
  bool no_surface = false;
  voxseg::cli::CaseListOptions cases;
};

void declare(CLI::App& app, Args& a) {
  app.add_option("-p,--pred", a.pred, "prediction: a label file or a folder of them");
  app.add_option("-r,--ref", a.ref, "reference: a label file or a folder (matched to -p by case name)");
  app.add_option("--pairs", a.pairs, "CSV with columns pred,ref[,image][,case] instead of -p/-r");
  app.add_option("--image", a.image, "image (or folder matched by case) under the report's QC pictures");
  app.add_option("--labels", a.labels, "labels to score, e.g. 1,2,5 or 1-4 (default: all present)");
  app.add_option("--regions", a.regions, "merged labels, e.g. \"liver=1,6;kidneys=2,3\"");
  app.add_option("--label-table", a.label_table, "names from model.json, a bundle folder, dataset.json or phantom.json");
  app.add_flag("--instances", a.eval.instances, "label values are instance ids (cells): matched F1, PQ, splits, merges");
  app.add_option("--tolerance", a.eval.metrics.tolerance_mm, "NSD tolerance in mm (default 1)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tolerances", a.tolerances, "per-label NSD tolerances, e.g. 1=2,liver=3");
  app.add_option("--hd95", a.hd95, "max (MONAI, DeepMind: larger directed 95th percentile) or pooled (medpy)")
      ->check(CLI::IsMember({"max", "pooled"}));
  app.add_option("--surface", a.surface, "voxels (MONAI: boundary voxels) or surfels (DeepMind: area-weighted)")
      ->check(CLI::IsMember({"voxels", "surfels"}));
  app.add_flag("--no-surface", a.no_surface, "overlap and volumes only (fast)");
  app.add_flag("--resample-pred", a.eval.resample_pred, "resample predictions onto the reference grid (nearest)");
  app.add_option("--csv", a.out.csv, "CSV, one row per case x label");
  app.add_option("--output-json", a.out.json, "JSON with cases, summary, conventions and provenance");
  app.add_option("--report", a.out.report_dir, "folder for a self-contained HTML report (index.html)");
  app.add_option("--report-window", a.eval.report_window,
                 "QC pictures' window: auto (CT: abdomen 40/400, else 0.5-99.5 percentiles), abdomen, lung, bone, "
                 "brain, LEVEL,WIDTH or percentile");
  app.add_option("--max-labels", a.eval.max_labels, "refuse label maps with more distinct values (intensity images; "
                 "default 1000, unchecked with --instances)")->check(CLI::NonNegativeNumber);
  voxseg::cli::add_case_list_options(app, a.cases, false);
  auto* g = app.add_option_group("Lesions", "lesion-wise scores (BraTS 2023, autoPET); docs/metrics.md");
  g->add_option("--lesions", a.lesions, "lesion labels: ids, label-table or --regions names, e.g. 3 or 1,tumor");
  g->add_option("--lesion-connectivity", a.eval.lesions.connectivity, "6, 18 or 26 (default 26, BraTS)")
      ->check(CLI::IsMember({6, 18, 26}));
  g->add_option("--lesion-match", a.lesion_match, "any (default: any voxel overlap) or iou:T (IoU > T)");
  g->add_option("--lesion-min-ml", a.eval.lesions.min_ml, "ignore smaller lesions on both sides (default 0)")
      ->check(CLI::NonNegativeNumber);
  g->add_option("--lesion-dilate", a.eval.lesions.dilate, "dilate reference lesions N voxels to match (BraTS-GLI 3)")
      ->check(CLI::NonNegativeNumber);
  g->add_option("--lesion-csv", a.out.lesion_csv, "CSV, one row per lesion");
}

voxseg::ExitCode execute(Args& a, voxseg::cli::Context& ctx) {
  auto& o = a.eval;
  o.metrics.threads = ctx.common().threads;
  o.metrics.surface_metrics = !a.no_surface;
  o.metrics.hd95 = a.hd95 == "pooled" ? vm::Hd95Mode::Pooled : vm::Hd95Mode::MaxOfDirected;
  o.metrics.surface = a.surface == "surfels" ? vm::SurfaceMode::Surfels : vm::SurfaceMode::Voxels;
  if (!a.labels.empty()) o.labels = vm::parse_label_list(a.labels);
  if (!a.regions.empty()) o.regions = vm::parse_regions(a.regions);
  if (!a.tolerances.empty()) o.metrics.tolerance_by_region = vm::parse_tolerances(a.tolerances);
  if (!a.label_table.empty()) vm::load_label_table(o, a.label_table);
  vm::configure_lesions(o.lesions, a.lesions, a.lesion_match, o.names, o.regions, o.instances, !a.out.lesion_csv.empty());
  o.qc_images = !a.out.report_dir.empty();
  vm::check_report_window(o.report_window);
  auto pairing = vm::pair_inputs(a.pred, a.ref, a.pairs, a.image);
  voxseg::cli::select_shard(a.cases.shard(), pairing.cases, pairing.unmatched);
  vm::check_outputs(a.out, ctx.force());

  std::vector<vm::CaseResult> results;
  voxseg::cli::Batch batch{ctx, pairing.cases.size() + pairing.unmatched.size()};
  for (const auto& input : pairing.cases)
    batch.run(input.name, input.pred, [&](voxseg::cli::Case& c) {
      results.push_back(vm::evaluate_case(input, o, c.progress("score")));
      const voxseg::Json j = vm::case_json(results.back());
      for (const auto& [key, value] : j.as_object()) c.report(key, value);
      c.set_summary(vm::case_line(results.back()));
    });
  const auto nothing = [](voxseg::cli::Case&) {};
  for (const auto& [name, why] : pairing.unmatched) batch.run(name, "", nothing, why);  // `why` fails the case

  const voxseg::Json summary = vm::summarize(results, o.metrics.surface_metrics);
  const voxseg::Json conventions = vm::describe_conventions(o);
  voxseg::Json summary_line = voxseg::Json::object();
  summary_line["summary"] = summary;
  summary_line["conventions"] = conventions;
  const voxseg::Json failures = batch.failures_json();
  summary_line["failures"] = failures;
  ctx.print_result(summary_line, vm::summary_table(summary, conventions));
  if (!results.empty())  // nothing scored: no outputs rather than empty ones
    vm::write_outputs(a.out, results, summary, conventions, ctx.provenance(), failures, ctx.force());
  return batch.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg eval -p pred.nii.gz -r ref.nii.gz                Dice, IoU, HD, HD95, ASSD, NSD per label\n"
      "  voxseg eval -p preds/ -r labels/ --csv m.csv            folders matched by case name\n"
      "  voxseg eval --pairs pairs.csv --output-json m.json      pred,ref[,image][,case] columns\n"
      "  voxseg eval -p p/ -r r/ --report qc/ --image images/    HTML report with QC pictures\n"
      "  voxseg eval -p a.nii.gz -r b.nii.gz --regions \"liver=1,6;kidneys=2,3\" --tolerance 2\n"
      "  voxseg eval -p a.nii.gz -r b.nii.gz --hd95 pooled       medpy's HD95\n"
      "  voxseg eval -p a.nii.gz -r b.nii.gz --surface surfels   DeepMind surface-distance\n"
      "  voxseg eval -p cells_pred/ -r cells_gt/ --instances     matched F1 at IoU>0.5, PQ, splits\n"
      "  voxseg eval -p preds/ -r labels/ --shard 2/4 --csv m2.csv  the second of four jobs\n"
      "  voxseg eval -p p/ -r r/ --lesions 1,2,3 --lesion-csv l.csv   lesion-wise Dice/HD95, TP/FP/FN\n";
  return voxseg::cli::run<Args>(argc, argv, {"eval", examples}, declare, execute);
}
