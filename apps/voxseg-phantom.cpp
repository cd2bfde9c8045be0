// voxseg phantom: deterministic synthetic cases (CT abdomen, MR brain, fluorescence nuclei) with
// ground-truth labels, as one case or an nnU-Net v2 style dataset.
#include "voxseg/cli/app.h"
#include "voxseg/core/atomic_file.h"
#include "voxseg/io/volume_io.h"
#include "voxseg/phantom/phantom.h"

namespace {

struct Args {
  std::string kind = "ct-abdomen", output_dir;
  uint64_t seed = 0;
  std::vector<int64_t> size;
  std::vector<double> spacing;
  int objects = -1, count = 1;
};

void declare(CLI::App& app, Args& a) {
  app.add_option("--kind", a.kind, "ct-abdomen | mr-brain | cells")->capture_default_str();
  app.add_option("--seed", a.seed, "random seed; the same seed and options give byte-identical files")
      ->capture_default_str();
  app.add_option("-o,--output", a.output_dir, "output folder (created if missing)")->required();
  app.add_option("--size", a.size, "voxels X,Y,Z (default: ct 256,256,100; mr 144,176,144; cells 128,128,48)")
      ->delimiter(',')
      ->expected(3)
      ->check(CLI::PositiveNumber);
  app.add_option("--spacing", a.spacing, "X,Y,Z in mm, um for cells (default: 1.5,1.5,2.5; 1.25 iso; 0.5,0.5,1)")
      ->delimiter(',')
      ->expected(3)
      ->check(CLI::PositiveNumber);
  app.add_option("--objects", a.objects,
                 "liver tumours (ct), lesions (mr): default 0-4 per seed; nuclei (cells, by size)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--count", a.count, "N > 1: a dataset of N cases with seeds seed..seed+N-1 (imagesTr/labelsTr)")
      ->capture_default_str();
}

voxseg::ExitCode execute(const Args& a, voxseg::cli::Context& ctx) {
  namespace ph = voxseg::phantom;
  ph::PhantomOptions options;
  options.kind = ph::parse_kind(a.kind);
  options.seed = a.seed;
  for (size_t i = 0; i < 3; ++i) {
    if (a.size.size() == 3) options.size[i] = a.size[i];
    if (a.spacing.size() == 3) options.spacing_mm[i] = a.spacing[i];
  }
  options.objects = a.objects;
  const ph::OutputPlan plan = ph::plan_outputs(options, a.count, a.output_dir);
  ph::check_outputs(plan, ctx.force());  // exit 5 before any work
  ph::create_output_folders(plan);

  auto progress = ctx.progress("phantom");
  progress.set_total(int64_t(plan.cases.size()));
  voxseg::Json result = voxseg::Json::object(), outputs = voxseg::Json::array();
  result["kind"] = a.kind;
  result["seed"] = a.seed;
  voxseg::Json description;
  for (const auto& c : plan.cases) {
    const ph::Phantom p = ph::make_phantom(c.options);
    voxseg::io::write_volume(p.image, c.image, {voxseg::io::parse_pixel_type(p.image_file_type), ctx.force()});
    voxseg::io::write_volume(p.labels, c.labels, {voxseg::io::parse_pixel_type(p.labels_file_type), ctx.force()});
    voxseg::Json o = voxseg::Json::object();
    o["image"] = c.image.string();
    o["labels"] = c.labels.string();
    outputs.push_back(o);
    if (!plan.is_dataset()) description = ph::describe_phantom(p);
    progress.advance();
  }
  const voxseg::Json doc = plan.is_dataset() ? ph::dataset_json(options, a.count) : description;
  voxseg::write_text_atomic(plan.json, doc.dump(2) + "\n", ctx.force());
  result["outputs"] = outputs;
  result["json"] = plan.json.string();
  result["provenance"] = ctx.provenance();
  ctx.print_result(result, fmt::format("{}: {} {} case(s) with seed {} in {}", ctx.verb(), plan.cases.size(), a.kind,
                                       a.seed, a.output_dir));
  return voxseg::ExitCode::Ok;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg phantom --kind ct-abdomen --seed 1 -o ct1/          image.nii.gz, labels.nii.gz, phantom.json\n"
      "  voxseg phantom --kind mr-brain --seed 7 --size 96,112,96 -o mr/\n"
      "  voxseg phantom --kind cells --seed 3 --objects 40 -o cells/  instance labels 1..N\n"
      "  voxseg phantom --kind ct-abdomen --seed 100 --count 20 -o Dataset501_Phantom/\n"
      "                                          imagesTr/, labelsTr/, dataset.json (nnU-Net v2)\n"
      "  voxseg phantom --kind ct-abdomen --spacing 0.8,0.8,2.5 --size 480,480,100 -o hires/ --force\n";
  return voxseg::cli::run<Args>(argc, argv, {"phantom", examples}, declare, execute);
}
