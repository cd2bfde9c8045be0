// voxseg convert: any supported volume format to any other, DICOM series in and out.
#include "voxseg/cli/app.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/volume_io.h"

namespace {

struct Args {
  std::string input, output, to = "auto", dtype = "auto", modality;
  voxseg::io::ReadOptions read;
  voxseg::io::DicomWriteOptions dicom;
};

void declare(CLI::App& app, Args& a) {
  app.add_option("input", a.input, "volume file (.nii.gz .nii .nrrd .nhdr .mha .mhd .dcm) or DICOM folder")
      ->required();
  app.add_option("output", a.output, "output file (format from the extension), or a folder for a DICOM series")
      ->required();
  app.add_option("--series", a.read.series_uid, "DICOM input folder: SeriesInstanceUID (default: most slices)");
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
}

voxseg::ExitCode execute(const Args& a, voxseg::cli::Context& ctx) {
  namespace io = voxseg::io;
  const bool series = a.to == "dicom" || io::is_series_target(a.output);
  if (series && a.dtype != "auto")
    voxseg::fail(voxseg::ExitCode::Usage, "--dtype does not apply to DICOM output (always int16 with a rescale)");
  io::WriteOptions write{io::parse_pixel_type(a.dtype), ctx.force()};
  io::check_volume_output(a.output, ctx.force(), series);  // exit 5 before reading anything

  io::VolumeFileInfo info;
  const voxseg::Volume volume = io::read_volume(a.input, a.read, &info);
  if (series) {
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
  result["output_format"] = series ? "DICOM" : "";
  result["dtype"] = voxseg::dtype_name(volume.data.scalar_type());
  const auto& s = volume.geometry.size;
  ctx.print_result(result, fmt::format("{} -> {} ({}x{}x{}, {})", a.input, a.output, s[0], s[1], s[2],
                                       series ? "DICOM series" : io::pixel_type_name(write.pixel_type)));
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
      "  voxseg convert -f a.nii.gz b.nrrd                   overwrite an existing output\n";
  return voxseg::cli::run<Args>(argc, argv, {"convert", examples}, declare, execute);
}
