// Which files of a folder make a series: by SeriesInstanceUID, or, for files an anonymizer left
// without one, by the header fields that differ between series. Localizers are dropped here too.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "voxseg/io/detail/dicom_slice.h"

namespace voxseg::io::detail {
namespace {

std::string rounded(const std::vector<double>& values, double step) {
  std::string out;
  for (double v : values) out += fmt::format("{:.0f},", std::round(v / step));
  return out;
}

// What makes a series when the UID is gone. Orientation to 1e-3 and spacing to 1e-3 mm absorb the
// rounding of DS strings; everything else must match exactly.
std::string series_signature(const Slice& s) {
  return fmt::format("{}|{}|{}x{}|{}|{}|{}|{}", rounded(s.orientation, 1e-3), rounded(s.pixel_spacing, 1e-3), s.columns,
                     s.rows, s.modality, s.description, s.series_number, s.acquisition_number);
}

bool is_localizer(const Slice& s) {
  // ImageType is ORIGINAL\PRIMARY\LOCALIZER (CT, MR) or has SCOUT in a vendor-specific value.
  std::string upper = s.image_type;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  return upper.find("LOCALIZER") != std::string::npos || upper.find("SCOUT") != std::string::npos;
}

}  // namespace

std::map<std::string, std::vector<Slice>> group_series(std::vector<Slice> slices, size_t* uidless) {
  std::map<std::string, std::vector<Slice>> series;
  std::vector<std::string> signatures;  // in order of first appearance (files are sorted by name)
  std::map<std::string, std::vector<Slice>> by_signature;
  size_t missing = 0;
  for (auto& s : slices) {
    if (!s.series_uid.empty()) {
      series[s.series_uid].push_back(std::move(s));
      continue;
    }
    ++missing;
    const std::string sig = series_signature(s);
    if (!by_signature.count(sig)) signatures.push_back(sig);
    by_signature[sig].push_back(std::move(s));
  }
  for (size_t i = 0; i < signatures.size(); ++i) {
    const std::string key = fmt::format("no-uid-{}", i + 1);
    auto& group = series[key];
    group = std::move(by_signature[signatures[i]]);
    for (auto& s : group) {
      s.series_uid = key;
      s.uid_missing = true;
    }
  }
  if (uidless) *uidless = missing;
  return series;
}

std::vector<DroppedSlice> drop_localizers(std::vector<Slice>& slices) {
  const auto others = std::count_if(slices.begin(), slices.end(), [](const Slice& s) { return !is_localizer(s); });
  std::vector<DroppedSlice> dropped;
  if (others == 0 || others == static_cast<std::ptrdiff_t>(slices.size())) return dropped;
  std::vector<Slice> kept;
  for (auto& s : slices) {
    if (is_localizer(s))
      dropped.push_back({s.path.filename().string(), "localizer (ImageType " + s.image_type + ")"});
    else
      kept.push_back(std::move(s));
  }
  slices = std::move(kept);
  return dropped;
}

}  // namespace voxseg::io::detail
