// voxseg convert: any supported volume format to any other, DICOM series in and out.
#include "voxseg/cli/app.h"
#include "voxseg/cli/read_options.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/seg_labels.h"
#include "voxseg/io/volume_io.h"

namespace {

struct Args {
  std::string input, output, to = "auto", dtype = "auto", modality, seg_reference, label_table;
  voxseg::io::SegAlgorithm algorithm;
  bool resample = false, as_image = false;
  voxseg::io::ReadOptions read;
  voxseg::io::DicomWriteOptions dicom;
};

void declare(CLI::App& app, Args& a) {
  app.add_option("input", a.input, "volume file (.nii.gz .nii .nrrd .nhdr .mha .mhd .dcm) or DICOM folder")
      ->required();
  app.add_option("output", a.output, "output file (format from the extension), or a folder for a DICOM series")
      ->required();
  voxseg::cli::add_read_options(app, a.read);
  app.add_option("--to", a.to, "auto (from the output path) or dicom (a series folder)")
      ->check(CLI::IsMember({"auto", "dicom"}));
  app.add_option("--dtype", a.dtype, "pixel type on disk: auto, uint8, int8, uint16, int16, int32, float32, float64")
      ->check(CLI::IsMember({"auto", "uint8", "int8", "uint16", "int16", "int32", "float32", "float64"}));
  app.add_option("--modality", a.modality, "DICOM output: CT or MR (default: the input's, else CT)")
      ->check(CLI::IsMember({"CT", "MR"}));
  app.add_option("--uid-seed", a.dicom.uid_seed, "DICOM output: derive UIDs from this text (default: from the voxels)");
  app.add_option("--series-description", a.dicom.series_description, "DICOM output: SeriesDescription");
  app.add_option("--patient-id", a.dicom.patient_id, "DICOM output: PatientID");
  app.add_option("--patient-name", a.dicom.patient_name, "DICOM output: PatientName (Family^Given)");
  app.add_option("--seg-reference", a.seg_reference, "DICOM SEG: the source series (writes a SEG from a label map; "
                 "reading a SEG, puts the map on the series' grid); --series picks one of several");
  app.add_option("--label-table", a.label_table, "SEG output: names, colours, codes (model.json, dataset.json, ...)");
  app.add_option("--algorithm-name", a.algorithm.name, "SEG output: SegmentAlgorithmName (default: voxseg)");
  app.add_option("--algorithm-parameters", a.algorithm.parameters,
                 "SEG output: AlgorithmParameters text, e.g. the model's sha256");
  app.add_flag("--resample", a.resample, "SEG output: map a label map on another grid by nearest neighbour");
  app.add_flag("--as-image", a.as_image, "write a label map as a plain DICOM image series anyway (not a SEG)");
}

voxseg::ExitCode execute(const Args& a, voxseg::cli::Context& ctx) {
  namespace io = voxseg::io;
  using voxseg::ExitCode, voxseg::fail;
  const bool dcm_out = a.output.size() > 4 && a.output.compare(a.output.size() - 4, 4, ".dcm") == 0;
  const bool seg_in = io::is_dicom_seg_file(a.input);
  const bool seg_out = !seg_in && !a.seg_reference.empty();
  const bool series = !seg_out && (a.to == "dicom" || io::is_series_target(a.output));
  if (series && a.dtype != "auto") fail(ExitCode::Usage, "--dtype does not apply to DICOM output (always int16 with a rescale)");
  if (seg_out && !dcm_out) fail(ExitCode::Usage, "--seg-reference: the SEG output must be a .dcm file");
  if (!seg_out &&
      (!a.label_table.empty() || a.resample || !a.algorithm.name.empty() || !a.algorithm.parameters.empty()))
    fail(ExitCode::Usage,
         "--label-table, --algorithm-* and --resample apply to DICOM SEG output (a label map with "
         "--seg-reference)");
  io::WriteOptions write{io::parse_pixel_type(a.dtype), ctx.force()};
  if (seg_out) io::check_seg_output(a.output, ctx.force());
  else io::check_volume_output(a.output, ctx.force(), series);  // exit 5 before reading anything

  io::VolumeFileInfo info{"DICOM SEG"};
  const voxseg::Volume volume = seg_in ? io::read_dicom_seg(a.input, a.seg_reference.empty() ? std::nullopt
                                                                     : std::optional<std::string>(a.seg_reference))
                                       : io::read_volume(a.input, a.read, &info);
  if ((series || dcm_out) && !seg_out && !a.as_image && io::looks_like_label_map(volume))
    fail(ExitCode::Usage, "'{}' looks like a label map: write a DICOM SEG with --seg-reference SERIES_DIR (output "
         "a .dcm file), or give --as-image to write it as a plain DICOM image", a.input);
  if (seg_out) {
    io::SegWriteOptions seg{a.read.series_uid, a.dicom.uid_seed};
    if (a.dicom.series_description != "voxseg") seg.series_description = a.dicom.series_description;
    seg.resample = a.resample;
    seg.overwrite = ctx.force();
    const auto segments = a.label_table.empty() ? std::vector<io::SegmentInfo>{} : io::read_seg_label_table(a.label_table);
    io::write_dicom_seg(volume, a.seg_reference, segments, a.algorithm, a.output, seg);
  } else if (series) {
    io::DicomWriteOptions dicom = a.dicom;
    dicom.overwrite = ctx.force();
    const voxseg::Json* modality = info.metadata.find("modality");
    dicom.modality = !a.modality.empty()                              ? a.modality
                     : modality && modality->is_string() && modality->as_string() == "MR" ? "MR"
                                                                      : "CT";
    io::write_dicom_series(volume, a.output, dicom);
  } else {
    io::write_volume(volume, a.output, write);
  }

  voxseg::Json result = ctx.provenance();
  result["input"] = a.input;
  result["input_format"] = info.format;
  result["output"] = a.output;
  result["output_format"] = seg_out ? "DICOM SEG" : series ? "DICOM" : "";
  result["dtype"] = voxseg::dtype_name(volume.data.scalar_type());
  const auto& s = volume.geometry.size;
  ctx.print_result(result, fmt::format("{} -> {} ({}x{}x{}, {})", a.input, a.output, s[0], s[1], s[2],
                                       seg_out ? "DICOM SEG" : series ? "DICOM series" : io::pixel_type_name(write.pixel_type)));
  return voxseg::ExitCode::Ok;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg convert ct.nrrd ct.nii.gz                    NRRD to NIfTI\n"
      "  voxseg convert dicom_dir/ ct.nii.gz                 the largest series of a folder to NIfTI\n"
      "  voxseg convert --series 1.2.840... dicom_dir/ a.mha  a chosen series\n"
      "  voxseg convert ct.nii.gz series_out/                NIfTI to a DICOM series (one file per slice)\n"
      "  voxseg convert --dtype int16 prob.nii.gz lab.nii.gz  change the pixel type (fails if values do not fit)\n"
      "  voxseg convert -f a.nii.gz b.nrrd                   overwrite an existing output\n"
      "  voxseg convert labels.nii.gz seg.dcm --seg-reference dicom_dir/ --label-table model.json   a DICOM SEG\n"
      "  voxseg convert seg.dcm labels.nii.gz [--seg-reference dicom_dir/]   a DICOM SEG to a label map\n";
  return voxseg::cli::run<Args>(argc, argv, {"convert", examples}, declare, execute);
}
