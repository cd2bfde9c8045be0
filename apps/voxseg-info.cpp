// voxseg info: what a volume file or DICOM folder holds (geometry, type, values, labels, series).
#include "voxseg/cli/app.h"
#include "voxseg/cli/read_options.h"
#include "voxseg/cli/batch.h"
#include "voxseg/io/case_list.h"
#include "voxseg/io/volume_stats.h"

namespace {

struct Args {
  std::vector<std::string> inputs;
  voxseg::io::ReadOptions read;
  voxseg::io::StatsOptions stats;
};

void declare(CLI::App& app, Args& a) {
  app.add_option("inputs", a.inputs, "volume files, DICOM folders, folders of cases, or - for paths on stdin")
      ->required();
  voxseg::cli::add_read_options(app, a.read);
  app.add_flag("--labels", a.stats.labels, "list every distinct value with voxel count and volume (label maps)");
  app.add_option("--max-auto-labels", a.stats.max_auto_labels,
                 "integer volumes with at most this many distinct values are listed as labels")
      ->check(CLI::NonNegativeNumber);
}

voxseg::ExitCode execute(const Args& a, voxseg::cli::Context& ctx) {
  voxseg::cli::Batch batch{ctx};
  for (const auto& input : voxseg::io::expand_inputs(a.inputs)) {
    batch.run(input.name, input.path, [&](voxseg::cli::Case& c) {
      const voxseg::Json d = voxseg::io::describe_volume_file(input.path, a.read, a.stats);
      for (const auto& [key, value] : d.as_object()) c.report(key, value);
      c.set_summary(input.path + "\n" + voxseg::io::describe_text(d));
    });
  }
  return batch.finish();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg info ct.nii.gz                    geometry, type and value statistics\n"
      "  voxseg info --json seg.nii.gz            the same as one JSON object on stdout\n"
      "  voxseg info --labels aal.nii.gz          every label with voxel count and volume (ml)\n"
      "  voxseg info dicom_dir/                   the series found; reads the largest\n"
      "  voxseg info --series 1.2.840... dir/     a chosen series\n"
      "  ls *.nii.gz | voxseg info --json -       one JSON line per file\n";
  return voxseg::cli::run<Args>(argc, argv, {"info", examples}, declare, execute);
}
