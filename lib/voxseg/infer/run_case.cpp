#include "voxseg/infer/run_case.h"

#include <chrono>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/core/runtime_info.h"
#include "voxseg/io/volume_io.h"

namespace fs = std::filesystem;

namespace voxseg::infer {

CaseOutputs case_outputs(const fs::path& labels_path) {
  const std::string ext = full_extension(labels_path);
  const std::string stem = stem_without_extension(labels_path);
  const fs::path dir = labels_path.parent_path();
  return {labels_path, dir / (stem + "_probabilities" + ext), dir / (stem + ".json"), dir / (stem + ".seg.dcm")};
}

std::string dicom_source(const ChannelCase& input) {
  if (input.paths.size() != 1) return "";
  const fs::path p = input.paths.front();
  return io::is_dicom_directory(p) || io::is_dicom_file(p) ? p.string() : "";
}

void check_dicom_seg_inputs(const std::vector<ChannelCase>& cases) {
  for (const auto& c : cases)
    if (!dicom_source(c).empty()) return;
  fail(ExitCode::Usage, "--dicom-seg: no input is a DICOM series (a SEG refers to the DICOM slices a case was read from)");
}

Json run_case(const ChannelCase& input, Model& model, const PredictOptions& options, const CaseOutputs& out,
              bool overwrite, const Json& provenance, Progress progress) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const std::string dicom = options.dicom_seg ? dicom_source(input) : "";
  if (options.dicom_seg) {
    if (dicom.empty())
      fail(ExitCode::BadInput, "case '{}': --dicom-seg needs a case read from a DICOM series; '{}' is not DICOM",
           input.name, input.paths.empty() ? "" : input.paths.front());
  }
  auto t0 = Clock::now();
  remove_stale_partials({out.labels, out.probabilities, out.report, out.seg});  // left by a killed run
  const Volume image = read_case(input, options.read);
  const double read_s = since(t0);

  Prediction p = predict_volume(image, model, options, progress);

  t0 = Clock::now();
  // The label map is the case's "done" marker, written last: when it is missing, the case's other
  // outputs are leftovers of an interrupted run and are redone (overwritten) with it.
  io::WriteOptions w;
  w.overwrite = true;
  if (options.save_probabilities) {
    w.pixel_type = io::PixelType::Float32;
    io::write_volume(p.probabilities, out.probabilities, w);
  }
  Json report = provenance.is_object() ? provenance : Json::object();
  report["case"] = input.name;
  Json inputs = Json::array();
  for (const auto& path : input.paths) inputs.push_back(path);
  report["inputs"] = inputs;
  report["labels"] = out.labels.string();
  if (options.save_probabilities) report["probabilities"] = out.probabilities.string();
  Json m = Json::object();
  m["id"] = model.id;
  if (!model.name.empty()) m["name"] = model.name;
  m["sha256"] = model.sha256;
  m["source"] = model.source;
  m["classes"] = model.num_classes();
  m["plan"] = preprocess::plan_to_json(model.plan);
  report["model"] = m;
  report["device"] = model.device;
  report["precision"] = model.precision;
  report["runtime"] = runtime_json();  // the BLAS, oneDNN ISA and threads this run used
  for (const auto& [key, value] : p.report.as_object()) report[key] = value;
  Json& timings = report["timings"];
  timings["read_s"] = read_s;
  w.pixel_type = p.labels.data.scalar_type() == at::kByte ? io::PixelType::UInt8 : io::PixelType::UInt16;
  if (options.save_probabilities) timings["write_probabilities_s"] = since(t0);
  report["peak_rss_mb"] = double(peak_rss_bytes()) / (1024.0 * 1024.0);
  if (options.dicom_seg) {
    if (at::any(p.labels.data != 0).item<bool>()) {
      io::SegWriteOptions seg;
      seg.overwrite = true;  // a companion of the label map, like the report
      const io::SegAlgorithm algorithm{model.name.empty() ? model.id : model.name, "",
                                       model.sha256.empty() ? "" : "model_sha256=" + model.sha256};
      io::write_dicom_seg(p.labels, dicom, model.segments, algorithm, out.seg, seg);
      report["dicom_seg"] = out.seg.string();
    } else {
      log::warn("case '{}': no label predicted; no DICOM SEG written (a SEG needs a segment)", input.name);
    }
  }
  write_text_atomic(out.report, report.dump(2) + "\n", true);
  w.overwrite = overwrite;
  io::write_volume(p.labels, out.labels, w);
  return report;
}

}  // namespace voxseg::infer
