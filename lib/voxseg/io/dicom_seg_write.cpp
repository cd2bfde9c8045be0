// Writing a label map as a binary DICOM SEG with DCMTK's dcmseg (DCMTK 3.6.7 has no label-map SEG):
// one segment per label present, one frame per (segment, source slice holding it), each frame
// carrying the slice's position and a reference to its SOP instance. See docs/dicom.md.
#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>
#include <dcmtk/oflog/oflog.h>

#include <map>
#include <memory>

#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/core/sha256.h"
#include "voxseg/core/version.h"
#include "voxseg/io/detail/hashed_uid.h"
#include "voxseg/io/detail/dicom_seg_source.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/io/seg_labels.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace {

// "2.25.<decimal of 128 bits of a hash>": the same seed and purpose give the same UID.
std::string uid_from(const std::string& seed, const std::string& purpose) {
  return detail::hashed_uid(seed + "|seg|" + purpose);
}

std::string new_uid(const std::string& seed, const std::string& purpose) {
  if (!seed.empty()) return uid_from(seed, purpose);
  char buf[100];
  return dcmGenerateUniqueIdentifier(buf, SITE_SERIES_UID_ROOT);
}

void check(const OFCondition& c, const std::string& what) {
  if (c.bad()) fail(ExitCode::Internal, "DICOM SEG writer: {}: {}", what, c.text());
}

CodeSequenceMacro code(const CodedConcept& c) {
  return CodeSequenceMacro(c.code.c_str(), c.scheme.c_str(), c.meaning.c_str());
}

std::string clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n); }

std::unique_ptr<DcmSegment> make_segment(const SegmentInfo& info, const SegAlgorithm& algorithm) {
  DcmSegment* raw = nullptr;
  const std::string algo_name = algorithm.name.empty() ? "voxseg" : algorithm.name;
  check(DcmSegment::create(raw, clip(info.name, 64).c_str(), code(info.category), code(info.type),
                           DcmSegTypes::SAT_AUTOMATIC, clip(algo_name, 64).c_str()),
        "segment '" + info.name + "'");
  std::unique_ptr<DcmSegment> s(raw);
  // The label value, so voxseg reads its own SEGs back with the label map's values.
  check(s->setSegmentDescription(("voxseg label " + std::to_string(info.label)).c_str()), "segment description");
  if (info.color) {
    const auto lab = rgb_to_dicom_lab(*info.color);
    check(s->setRecommendedDisplayCIELabValue(Uint16(lab[0]), Uint16(lab[1]), Uint16(lab[2])), "segment colour");
  }
  if (info.anatomic_region) s->getGeneralAnatomyCode().getAnatomicRegion() = code(*info.anatomic_region);
  AlgorithmIdentificationMacro& id = s->getSegmentationAlgorithmIdentification();
  id.getAlgorithmFamilyCode().set("123110", "DCM", "Artificial Intelligence");
  check(id.setAlgorithmName(clip(algo_name, 64).c_str()), "algorithm name");
  check(id.setAlgorithmVersion(clip("voxseg " + (algorithm.version.empty() ? std::string(version()) : algorithm.version), 64).c_str()),
        "algorithm version");
  if (!algorithm.parameters.empty())
    check(id.setAlgorithmParameters(algorithm.parameters.c_str()), "algorithm parameters");
  check(id.setAlgorithmSource("voxseg"), "algorithm source");
  return s;
}

void put(DcmDataset& ds, const DcmTagKey& tag, const std::string& value) {
  check(ds.putAndInsertString(tag, value.c_str()), "set " + std::string(DcmTag(tag).getTagName()));
}

std::string get(DcmDataset& ds, const DcmTagKey& tag) {
  OFString v;
  return ds.findAndGetOFString(tag, v).good() ? std::string(v.c_str()) : std::string();
}

}  // namespace

void check_seg_output(const fs::path& out, bool overwrite) { check_output_path(out, overwrite); }

void write_dicom_seg(const Volume& labels, const fs::path& series_dir, const std::vector<SegmentInfo>& segments,
                     const SegAlgorithm& algorithm, const fs::path& out, const SegWriteOptions& options) {
  detail::configure_dcmtk_log();
  check_seg_output(out, options.overwrite);
  const detail::SourceSeries source = detail::scan_source_series(series_dir, options.series_uid);
  const auto& slices = source.slices;
  const Geometry& g = source.geometry;
  const at::Tensor grid = labels_on_grid(labels, g, options.resample, "the label map");
  const int rows = slices.front().rows, columns = slices.front().columns;
  const int64_t plane = int64_t(rows) * columns;
  const at::Tensor grid_c = grid.contiguous();
  const int32_t* voxels = grid_c.data_ptr<int32_t>();
  // Which labels each slice holds (one pass), so frames are built only where a label is.
  std::vector<std::vector<bool>> in_slice(slices.size(), std::vector<bool>(65536, false));
  std::vector<bool> present(65536, false);
  for (size_t k = 0; k < slices.size(); ++k)
    for (int64_t i = 0; i < plane; ++i) in_slice[k][size_t(voxels[int64_t(k) * plane + i])] = true;
  for (const auto& s : in_slice)
    for (size_t l = 1; l < s.size(); ++l)
      if (s[l]) present[l] = true;
  std::vector<SegmentInfo> chosen;
  for (int64_t label = 1; label <= 65535; ++label) {
    if (!present[size_t(label)]) continue;
    auto it = std::find_if(segments.begin(), segments.end(), [&](const SegmentInfo& s) { return s.label == label; });
    chosen.push_back(it != segments.end() ? *it : default_segment(label));
  }
  if (chosen.empty())
    fail(ExitCode::BadInput, "the label map holds no labels (all background); a DICOM SEG needs at least one segment");

  const std::string version_text = algorithm.version.empty() ? std::string(version()) : algorithm.version;
  DcmSegmentation* raw = nullptr;
  check(DcmSegmentation::createBinarySegmentation(
            raw, Uint16(rows), Uint16(columns),
            IODGeneralEquipmentModule::EquipmentInfo("voxseg", clip(algorithm.name.empty() ? "voxseg" : algorithm.name, 64).c_str(),
                                                     "1", version_text.c_str()),
            ContentIdentificationMacro("1", "SEGMENTATION", "voxseg automatic segmentation", "Voxseg^Automatic")),
        "create");
  std::unique_ptr<DcmSegmentation> seg(raw);
  seg->setCheckDimensionsOnWrite(OFFalse);  // dimension indices are set per frame below
  check(seg->importFromSourceImage(slices.front().path.c_str()), "import patient/study from '" +
                                                                      slices.front().path.string() + "'");

  check(seg->getSegmentationSeriesModule().setSeriesNumber("300"), "series number");
  const auto& first = slices.front();
  auto ds = [](double v) { return OFString(detail::ds_text(v).c_str()); };
  std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
      ds(first.orientation[0]), ds(first.orientation[1]), ds(first.orientation[2]), ds(first.orientation[3]),
      ds(first.orientation[4]), ds(first.orientation[5])));
  check(seg->addForAllFrames(*orientation), "plane orientation");
  FGPixelMeasures measures;
  check(measures.setPixelSpacing((detail::ds_text(first.pixel_spacing[0]) + "\\" + detail::ds_text(first.pixel_spacing[1])).c_str()),
        "pixel spacing");
  check(measures.setSliceThickness(detail::ds_text(first.thickness > 0 ? first.thickness : g.spacing[2]).c_str()),
        "slice thickness");
  check(measures.setSpacingBetweenSlices(detail::ds_text(g.spacing[2]).c_str()), "spacing between slices");
  check(seg->addForAllFrames(measures), "pixel measures");
  const std::string dim_uid = new_uid(options.uid_seed, "dimension-organization");
  check(seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber, dim_uid.c_str(),
                                               DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
        "dimension index");
  check(seg->getDimensions().addDimensionIndex(DCM_ImagePositionPatient, dim_uid.c_str(), DCM_PlanePositionSequence,
                                               "ImagePositionPatient"),
        "dimension index");

  std::vector<Uint8> mask(size_t(plane), 0);
  std::vector<bool> referenced(slices.size(), false);
  int64_t frames = 0;
  for (const SegmentInfo& info : chosen) {
    std::unique_ptr<DcmSegment> segment = make_segment(info, algorithm);
    Uint16 number = 0;
    check(seg->addSegment(segment.get(), number), "add segment '" + info.name + "'");
    segment.release();  // owned by the segmentation now
    for (size_t k = 0; k < slices.size(); ++k) {
      if (!in_slice[k][size_t(info.label)]) continue;  // empty frames are omitted
      const int32_t* v = voxels + int64_t(k) * plane;
      for (int64_t i = 0; i < plane; ++i) mask[size_t(i)] = v[i] == info.label ? 1 : 0;
      const auto& s = slices[k];
      std::unique_ptr<FGPlanePosPatient> position(FGPlanePosPatient::createMinimal(
          s.position_text[0].c_str(), s.position_text[1].c_str(), s.position_text[2].c_str()));
      FGFrameContent content;
      check(content.setDimensionIndexValues(number, 0), "dimension index value");
      check(content.setDimensionIndexValues(Uint32(k + 1), 1), "dimension index value");
      OFVector<ImageSOPInstanceReferenceMacro> sources(1);
      check(sources[0].setReferencedSOPClassUID(s.sop_class.c_str()), "source SOP class");
      check(sources[0].setReferencedSOPInstanceUID(s.sop_uid.c_str()), "source SOP instance");
      std::unique_ptr<FGDerivationImage> derivation(FGDerivationImage::createMinimal(
          sources, "Segmentation of the source image by voxseg", CodeSequenceMacro("113076", "DCM", "Segmentation"),
          CodeSequenceMacro("121322", "DCM", "Source image for image processing operation")));
      if (!derivation) fail(ExitCode::Internal, "DICOM SEG writer: cannot create the derivation image sequence");
      OFVector<FGBase*> groups{position.get(), &content, derivation.get()};
      check(seg->addFrame(mask.data(), number, groups), "add frame");
      referenced[k] = true;
      ++frames;
    }
  }
  IODReferences refs;
  for (size_t k = 0; k < slices.size(); ++k)
    if (referenced[k])
      refs.add(new IODImageReference(slices[k].patient_id.c_str(), slices[k].study_uid.c_str(),
                                     slices[k].series_uid.c_str(), slices[k].sop_uid.c_str(),
                                     slices[k].sop_class.c_str()));
  seg->getCommonInstanceReference().addReferences(refs, first.study_uid.c_str());

  DcmFileFormat file;
  DcmDataset& out_ds = *file.getDataset();
  check(seg->writeDataset(out_ds), "write");
  put(out_ds, DCM_SeriesInstanceUID, new_uid(options.uid_seed, "series"));
  put(out_ds, DCM_SOPInstanceUID, new_uid(options.uid_seed, "instance"));
  put(out_ds, DCM_SeriesDescription, clip(options.series_description, 64));
  if (!options.uid_seed.empty()) {  // reproducible bytes: dates from the study, not the clock
    std::string date = get(out_ds, DCM_StudyDate), time = get(out_ds, DCM_StudyTime);
    if (date.empty()) date = "19700101";
    if (time.empty()) time = "000000";
    for (const auto& [d, t] : {std::pair{DCM_InstanceCreationDate, DCM_InstanceCreationTime},
                               std::pair{DCM_ContentDate, DCM_ContentTime}, std::pair{DCM_SeriesDate, DCM_SeriesTime}}) {
      put(out_ds, d, date);
      put(out_ds, t, time);
    }
  }
  AtomicFile target(out, options.overwrite);
  const OFCondition saved = file.saveFile(target.temp_path().c_str(), EXS_LittleEndianExplicit);
  if (saved.bad()) fail(ExitCode::CannotWrite, "cannot write '{}': {}", out.string(), saved.text());
  target.commit();
  log::debug("wrote DICOM SEG '{}': {} segment(s), {} frame(s) over {} slices", out.string(), chosen.size(), frames,
             slices.size());
}

}  // namespace voxseg::io
