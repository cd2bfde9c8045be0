// Reading DICOM SEG (binary or fractional) as a label map, with DCMTK's dcmdata directly (not
// dcmseg's loader, which refuses incomplete files that are still readable, e.g. frames missing
// NumberOfFrames). See docs/dicom.md for the grid rules.
#include <ATen/ATen.h>
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/oflog/oflog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>

#include "voxseg/core/error.h"
#include "voxseg/core/log.h"
#include "voxseg/io/detail/dicom_seg_source.h"
#include "voxseg/io/dicom_seg.h"
#include "voxseg/io/dicom_series.h"
#include "voxseg/io/seg_labels.h"

namespace fs = std::filesystem;

namespace voxseg::io {
namespace {

constexpr const char* kSegSopClass = "1.2.840.10008.5.1.4.1.1.66.4";

std::string get(DcmItem& item, const DcmTagKey& tag, bool search_into_sub = false) {
  OFString v;
  return item.findAndGetOFStringArray(tag, v, search_into_sub).good() ? std::string(v.c_str()) : std::string();
}

DcmItem* first_item(DcmItem& item, const DcmTagKey& sequence) {
  DcmItem* out = nullptr;
  return item.findAndGetSequenceItem(sequence, out, 0).good() ? out : nullptr;
}

// Nested item: (sequence, item 0) steps from `item`.
DcmItem* path_item(DcmItem* item, std::initializer_list<DcmTagKey> sequences) {
  for (const auto& s : sequences) {
    if (!item) return nullptr;
    item = first_item(*item, s);
  }
  return item;
}

CodedConcept read_code(DcmItem* item) {
  CodedConcept c;
  if (!item) return c;
  c.code = get(*item, DCM_CodeValue);
  if (c.code.empty()) c.code = get(*item, DCM_LongCodeValue);
  if (c.code.empty()) c.code = get(*item, DCM_URNCodeValue);
  c.scheme = get(*item, DCM_CodingSchemeDesignator);
  c.meaning = get(*item, DCM_CodeMeaning);
  return c;
}

struct Frame {
  int64_t index = 0, segment = 0;
  std::vector<double> position, orientation;
  std::string source_sop;
};

double dot(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

}  // namespace

bool is_dicom_seg_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || !is_dicom_file(path)) return false;
  detail::configure_dcmtk_log();
  DcmFileFormat ff;
  if (ff.loadFileUntilTag(path.c_str(), EXS_Unknown, EGL_noChange, 256, ERM_autoDetect, DCM_SOPInstanceUID).bad())
    return false;
  return get(*ff.getDataset(), DCM_SOPClassUID) == kSegSopClass;
}

Volume read_dicom_seg(const fs::path& path, const std::optional<fs::path>& reference_dir, SegInfo* info_out) {
  detail::configure_dcmtk_log();
  static std::once_flag codecs;
  std::call_once(codecs, [] { DcmRLEDecoderRegistration::registerCodecs(); });
  const std::string name = path.string();
  DcmFileFormat ff;
  if (!fs::is_regular_file(path)) fail(ExitCode::BadInput, "cannot read '{}': no such file", name);
  if (ff.loadFile(path.c_str()).bad()) fail(ExitCode::BadInput, "cannot read '{}': not a readable DICOM file", name);
  DcmDataset& ds = *ff.getDataset();
  if (get(ds, DCM_SOPClassUID) != kSegSopClass)
    fail(ExitCode::BadInput, "cannot read '{}': not a DICOM Segmentation (SOP class {})", name, get(ds, DCM_SOPClassUID));
  if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit))
    fail(ExitCode::BadInput, "cannot read '{}': cannot decompress its pixel data", name);

  SegInfo info;
  Uint16 rows = 0, columns = 0, bits = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  ds.findAndGetUint16(DCM_BitsAllocated, bits);
  info.rows = rows;
  info.columns = columns;
  info.segmentation_type = get(ds, DCM_SegmentationType);
  info.series_uid = get(ds, DCM_SeriesInstanceUID);
  info.frame_of_reference_uid = get(ds, DCM_FrameOfReferenceUID);
  info.description = get(ds, DCM_SeriesDescription);
  info.manufacturer = get(ds, DCM_Manufacturer);
  if (DcmItem* r = first_item(ds, DCM_ReferencedSeriesSequence)) info.referenced_series_uid = get(*r, DCM_SeriesInstanceUID);
  const bool fractional = info.segmentation_type == "FRACTIONAL";
  if (info.segmentation_type != "BINARY" && !fractional)
    fail(ExitCode::BadInput, "cannot read '{}': SegmentationType '{}' (BINARY or FRACTIONAL expected)", name,
         info.segmentation_type);
  if (rows == 0 || columns == 0) fail(ExitCode::BadInput, "cannot read '{}': no Rows/Columns", name);
  if ((fractional && bits != 8) || (!fractional && bits != 1 && bits != 8))
    fail(ExitCode::BadInput, "cannot read '{}': {} SEG with BitsAllocated {}", name, info.segmentation_type, bits);
  Uint16 max_fraction = 255;
  ds.findAndGetUint16(DCM_MaximumFractionalValue, max_fraction);

  // Segments.
  std::map<int64_t, size_t> segment_index;
  DcmSequenceOfItems* segments = nullptr;
  if (ds.findAndGetSequence(DCM_SegmentSequence, segments).bad() || !segments || segments->card() == 0)
    fail(ExitCode::BadInput, "cannot read '{}': no SegmentSequence", name);
  for (unsigned long i = 0; i < segments->card(); ++i) {
    DcmItem& item = *segments->getItem(i);
    SegSegment s;
    Uint16 number = 0;
    if (item.findAndGetUint16(DCM_SegmentNumber, number).bad() || number == 0)
      fail(ExitCode::BadInput, "cannot read '{}': segment {} has no SegmentNumber", name, i + 1);
    s.number = number;
    s.name = get(item, DCM_SegmentLabel);
    s.algorithm_type = get(item, DCM_SegmentAlgorithmType);
    s.algorithm_name = get(item, DCM_SegmentAlgorithmName);
    s.category = read_code(first_item(item, DCM_SegmentedPropertyCategoryCodeSequence));
    s.type = read_code(first_item(item, DCM_SegmentedPropertyTypeCodeSequence));
    const std::string description = get(item, DCM_SegmentDescription);
    const std::string prefix = "voxseg label ";
    s.label = s.number;
    if (description.rfind(prefix, 0) == 0) {
      char* end = nullptr;
      const long long v = std::strtoll(description.c_str() + prefix.size(), &end, 10);
      if (*end == '\0' && v > 0 && v <= 65535) s.label = v;
    }
    Uint16 lab[3];
    bool has_lab = true;
    for (unsigned long k = 0; k < 3; ++k) has_lab &= item.findAndGetUint16(DCM_RecommendedDisplayCIELabValue, lab[k], k).good();
    if (has_lab) s.color = dicom_lab_to_rgb({lab[0], lab[1], lab[2]});
    if (segment_index.count(s.number))
      fail(ExitCode::BadInput, "cannot read '{}': SegmentNumber {} appears twice", name, s.number);
    segment_index[s.number] = info.segments.size();
    info.segments.push_back(s);
  }

  // Frames: per-frame functional groups, shared groups as the fallback.
  DcmItem* shared = first_item(ds, DCM_SharedFunctionalGroupsSequence);
  std::vector<double> shared_iop, pixel_spacing;
  double between = 0, thickness = 0;
  if (DcmItem* o = path_item(shared, {DCM_PlaneOrientationSequence})) shared_iop = detail::parse_ds(get(*o, DCM_ImageOrientationPatient));
  if (DcmItem* m = path_item(shared, {DCM_PixelMeasuresSequence})) {
    pixel_spacing = detail::parse_ds(get(*m, DCM_PixelSpacing));
    const auto b = detail::parse_ds(get(*m, DCM_SpacingBetweenSlices));
    const auto t = detail::parse_ds(get(*m, DCM_SliceThickness));
    if (!b.empty()) between = b[0];
    if (!t.empty()) thickness = t[0];
  }
  const int64_t plane = int64_t(rows) * columns;
  const Uint8* pixels = nullptr;
  unsigned long pixel_bytes = 0;
  DcmElement* pixel_element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel_element).bad() || !pixel_element)
    fail(ExitCode::BadInput, "cannot read '{}': no pixel data", name);
  Uint8* pixel_ptr = nullptr;
  if (pixel_element->getUint8Array(pixel_ptr).bad() || !pixel_ptr)
    fail(ExitCode::BadInput, "cannot read '{}': unreadable pixel data", name);
  pixels = pixel_ptr;
  pixel_bytes = pixel_element->getLength();
  const int64_t in_pixels = bits == 1 ? int64_t(pixel_bytes) * 8 / plane : int64_t(pixel_bytes) / plane;
  DcmSequenceOfItems* per_frame = nullptr;
  ds.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, per_frame);
  const int64_t described = per_frame ? int64_t(per_frame->card()) : 0;
  const std::string frames_text = get(ds, DCM_NumberOfFrames);
  const int64_t declared = frames_text.empty() ? -1 : std::atoll(frames_text.c_str());
  const int64_t frames = std::min({declared < 0 ? described : declared, described, in_pixels});
  if (declared != described || in_pixels < described)  // an incomplete file: read what is there, once warned
    log::warn("'{}': {}, {} per-frame item(s), pixel data for {}; reading {} frame(s)", name,
              declared < 0 ? std::string("no NumberOfFrames") : fmt::format("NumberOfFrames {}", declared), described,
              in_pixels, frames);
  if (frames <= 0) fail(ExitCode::BadInput, "cannot read '{}': no frames", name);
  info.frames = frames;
  std::vector<Frame> list;
  for (int64_t f = 0; f < frames; ++f) {
    DcmItem& item = *per_frame->getItem(static_cast<unsigned long>(f));
    Frame fr;
    fr.index = f;
    Uint16 number = 0;
    DcmItem* id = path_item(&item, {DCM_SegmentIdentificationSequence});
    if (!id) id = path_item(shared, {DCM_SegmentIdentificationSequence});
    if (!id || id->findAndGetUint16(DCM_ReferencedSegmentNumber, number).bad())
      fail(ExitCode::BadInput, "cannot read '{}': frame {} names no segment", name, f + 1);
    if (!segment_index.count(number))
      fail(ExitCode::BadInput, "cannot read '{}': frame {} refers to segment {}, which is not described", name, f + 1,
           number);
    fr.segment = number;
    if (DcmItem* p = path_item(&item, {DCM_PlanePositionSequence})) fr.position = detail::parse_ds(get(*p, DCM_ImagePositionPatient));
    if (DcmItem* o = path_item(&item, {DCM_PlaneOrientationSequence})) fr.orientation = detail::parse_ds(get(*o, DCM_ImageOrientationPatient));
    if (fr.orientation.empty()) fr.orientation = shared_iop;
    if (DcmItem* src = path_item(&item, {DCM_DerivationImageSequence, DCM_SourceImageSequence}))
      fr.source_sop = get(*src, DCM_ReferencedSOPInstanceUID);
    if (fr.position.size() != 3) fail(ExitCode::BadInput, "cannot read '{}': frame {} has no ImagePositionPatient", name, f + 1);
    if (fr.orientation.size() != 6)
      fail(ExitCode::BadInput, "cannot read '{}': frame {} has no ImageOrientationPatient", name, f + 1);
    if (!list.empty())
      for (int k = 0; k < 6; ++k)
        if (std::abs(fr.orientation[k] - list.front().orientation[k]) > 1e-3)
          fail(ExitCode::BadInput, "cannot read '{}': frames of different orientations are not supported", name);
    list.push_back(fr);
    ++info.segments[segment_index[number]].frames;
  }
  const auto& iop = list.front().orientation;
  const std::array<double, 3> row{iop[0], iop[1], iop[2]}, col{iop[3], iop[4], iop[5]};
  const auto normal = detail::cross3(row, col);

  // The grid.
  Geometry g;
  if (reference_dir) {
    detail::SourceSeries source;
    try {
      source = detail::scan_source_series(*reference_dir, info.referenced_series_uid);
    } catch (const Error&) {
      if (info.referenced_series_uid.empty()) throw;
      log::warn("'{}': the series it refers to ({}) is not in '{}'; using the largest series there", name,
                info.referenced_series_uid, reference_dir->string());
      source = detail::scan_source_series(*reference_dir, "");
    }
    g = source.geometry;
    if (g.size[0] != columns || g.size[1] != rows)
      fail(ExitCode::BadInput, "cannot read '{}': frames are {}x{} but the reference series' slices are {}x{}", name,
           columns, rows, g.size[0], g.size[1]);
    for (int k = 0; k < 3; ++k)
      if (std::abs(row[k] - g.direction[k * 3]) > 1e-3 || std::abs(col[k] - g.direction[k * 3 + 1]) > 1e-3)
        fail(ExitCode::BadInput, "cannot read '{}': frame orientation differs from the reference series'", name);
    info.grid = "reference series";
  } else {
    double lo = 1e300, hi = -1e300;
    std::vector<double> along;
    for (const auto& fr : list) {
      const double a = dot({fr.position[0], fr.position[1], fr.position[2]}, normal);
      along.push_back(a);
      if (a < lo) {
        lo = a;
        g.origin = {fr.position[0], fr.position[1], fr.position[2]};
      }
      hi = std::max(hi, a);
    }
    std::sort(along.begin(), along.end());
    double step = between > 0 ? between : 0;
    if (step <= 0)
      for (size_t i = 1; i < along.size(); ++i)
        if (along[i] - along[i - 1] > 1e-3 && (step <= 0 || along[i] - along[i - 1] < step)) step = along[i] - along[i - 1];
    if (step <= 0) step = thickness > 0 ? thickness : 1.0;
    g.size = {columns, rows, int64_t(std::llround((hi - lo) / step)) + 1};
    g.spacing = {pixel_spacing.size() == 2 ? pixel_spacing[1] : 1.0, pixel_spacing.size() == 2 ? pixel_spacing[0] : 1.0,
                 step};
    for (int r = 0; r < 3; ++r) {
      g.direction[r * 3 + 0] = row[r];
      g.direction[r * 3 + 1] = col[r];
      g.direction[r * 3 + 2] = normal[r];
    }
    info.grid = "frames";
  }

  // Frames into the label map, in segment order (a later segment wins).
  std::stable_sort(list.begin(), list.end(), [](const Frame& a, const Frame& b) { return a.segment < b.segment; });
  int64_t max_label = 0;
  for (const auto& s : info.segments) max_label = std::max(max_label, s.label);
  at::Tensor out = at::zeros({g.size[2], g.size[1], g.size[0]}, at::kInt);
  int32_t* o = out.data_ptr<int32_t>();
  const unsigned threshold = (unsigned(max_fraction) + 1) / 2;  // >= half the maximum (0.5)
  for (const auto& fr : list) {
    const std::array<double, 3> d{fr.position[0] - g.origin[0], fr.position[1] - g.origin[1], fr.position[2] - g.origin[2]};
    const double k = dot(d, normal) / g.spacing[2];
    const double in_x = dot(d, row) / g.spacing[0], in_y = dot(d, col) / g.spacing[1];
    const int64_t z = std::llround(k);
    if (std::abs(k - double(z)) > 0.1 || std::abs(in_x) > 0.1 || std::abs(in_y) > 0.1 || z < 0 || z >= g.size[2])
      fail(ExitCode::BadInput, "cannot read '{}': frame {} (at {:.4g}, {:.4g}, {:.4g}) does not lie on a slice of {}",
           name, fr.index + 1, fr.position[0], fr.position[1], fr.position[2],
           reference_dir ? "the reference series" : "the frames' grid");
    const int32_t label = int32_t(info.segments[segment_index[fr.segment]].label);
    int32_t* slice = o + z * plane;
    const int64_t base = fr.index * plane;
    for (int64_t i = 0; i < plane; ++i) {
      bool set;
      if (bits == 1) {
        const int64_t bit = base + i;
        set = (pixels[bit >> 3] >> (bit & 7)) & 1;
      } else {
        set = fractional ? pixels[base + i] >= threshold : pixels[base + i] != 0;
      }
      if (!set) continue;
      if (slice[i] != 0 && slice[i] != label) ++info.overlapping_voxels;
      slice[i] = label;
    }
  }
  if (info.overlapping_voxels > 0)
    log::warn("'{}': segments overlap in {} voxel(s); the later segment wins there", name, info.overlapping_voxels);
  Volume v;
  v.geometry = g;
  v.data = max_label <= 255 ? out.to(at::kByte) : out;
  if (info_out) *info_out = std::move(info);
  return v;
}

}  // namespace voxseg::io

namespace voxseg::io::detail {

Volume read_seg_as_volume(const fs::path& path, VolumeFileInfo* info) {
  SegInfo seg;
  Volume v = read_dicom_seg(path, std::nullopt, &seg);
  if (info) {
    info->format = "DICOM SEG";
    info->stored_type = PixelType::UInt8;
    Json m = Json::object();
    m["segmentation_type"] = seg.segmentation_type;
    m["series_uid"] = seg.series_uid;
    m["referenced_series_uid"] = seg.referenced_series_uid;
    m["frame_of_reference_uid"] = seg.frame_of_reference_uid;
    m["frames"] = seg.frames;
    m["grid"] = seg.grid;
    m["overlapping_voxels"] = seg.overlapping_voxels;
    Json segments = Json::array();
    for (const auto& s : seg.segments) {
      Json j = Json::object();
      j["number"] = s.number;
      j["label"] = s.label;
      j["name"] = s.name;
      j["category"] = s.category.scheme + ":" + s.category.code + " " + s.category.meaning;
      j["type"] = s.type.scheme + ":" + s.type.code + " " + s.type.meaning;
      j["algorithm"] = s.algorithm_type + (s.algorithm_name.empty() ? "" : " " + s.algorithm_name);
      if (s.color) {
        Json c = Json::array();
        for (int x : *s.color) c.push_back(int64_t(x));
        j["color"] = c;
      }
      j["frames"] = s.frames;
      segments.push_back(j);
    }
    m["segments"] = segments;
    info->metadata = m;
  }
  return v;
}

}  // namespace voxseg::io::detail
