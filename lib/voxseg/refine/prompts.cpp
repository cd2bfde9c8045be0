#include "voxseg/refine/prompts.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "voxseg/core/error.h"
#include "voxseg/postprocess/components.h"

namespace voxseg::refine {
namespace {

std::vector<double> parse_numbers(const std::string& text, const std::string& option) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || !std::isfinite(value))
      fail(ExitCode::Usage, "{} '{}': '{}' is not a number", option, text, item);
    out.push_back(value);
    start = comma + 1;
  }
  return out;
}

// Slice extent (width = columns, height = rows, depth = slices) for boxes along Z.
void check_box(const Box& b, int64_t width, int64_t height, const std::string& what) {
  if (b.x1 < b.x0 || b.y1 < b.y0) fail(ExitCode::Usage, "{}: empty box (X1 < X0 or Y1 < Y0)", what);
  if (b.x0 < 0 || b.y0 < 0 || b.x1 > double(width - 1) || b.y1 > double(height - 1))
    fail(ExitCode::Usage, "{}: box outside the image ({}x{} pixels; indices 0..{}, 0..{})", what, width, height,
         width - 1, height - 1);
}

void check_slices(double z0, double z1, int64_t depth, const std::string& what) {
  if (z1 < z0) fail(ExitCode::Usage, "{}: empty slice range (Z1 < Z0)", what);
  if (z0 < 0 || z1 > double(depth - 1) || z0 != std::floor(z0) || z1 != std::floor(z1))
    fail(ExitCode::Usage, "{}: slices {}..{} outside the volume (0..{}) or not whole numbers", what, z0, z1, depth - 1);
}

// Adds box prompts (3D boxes expand into one prompt per slice) and attaches points.
struct Builder {
  std::array<int64_t, 3> size;
  bool is_2d;
  PromptSet set;
  int64_t groups = 0;

  void add_box(const std::array<double, 6>& v, bool is_3d, int64_t label, const std::string& what) {
    const Box b{v[0], v[1], v[2], v[3]};
    check_box(b, size[0], size[1], what);
    if (is_3d && is_2d) fail(ExitCode::Usage, "{}: a 3D box (6 numbers) on a 2D image; give X0,Y0,X1,Y1", what);
    if (!is_3d && size[2] > 1)
      fail(ExitCode::Usage, "{}: a 2D box on a volume of {} slices; give X0,Y0,X1,Y1,Z0,Z1", what, size[2]);
    const double z0 = is_3d ? v[4] : 0, z1 = is_3d ? v[5] : 0;
    check_slices(z0, z1, size[2], what);
    const int64_t group = groups++;
    for (int64_t z = int64_t(z0); z <= int64_t(z1); ++z) set.prompts.push_back({z, label, b, {}, group});
  }

  void add_point(const PointSpec& p, int64_t label, bool join_boxes, const std::string& what) {
    if (p.has_z && is_2d) fail(ExitCode::Usage, "{}: a 3D point on a 2D image; give X,Y", what);
    if (!p.has_z && size[2] > 1) fail(ExitCode::Usage, "{}: a 2D point on a volume; give X,Y,Z", what);
    const double z = p.has_z ? std::round(p.z) : 0;
    if (p.x < 0 || p.y < 0 || p.x > double(size[0] - 1) || p.y > double(size[1] - 1) || z < 0 ||
        z > double(size[2] - 1))
      fail(ExitCode::Usage, "{}: point outside the image", what);
    const Point point{p.x, p.y, p.positive};
    bool joined = false;
    if (join_boxes)
      for (auto& prompt : set.prompts)
        if (prompt.slice == int64_t(z) && prompt.label == label && prompt.box) {
          prompt.points.push_back(point);
          joined = true;
        }
    if (joined) return;
    for (auto& prompt : set.prompts)  // a points-only prompt of this label on this slice
      if (prompt.slice == int64_t(z) && prompt.label == label && !prompt.box) {
        prompt.points.push_back(point);
        return;
      }
    set.prompts.push_back({int64_t(z), label, std::nullopt, {point}, -1});
  }
};

}  // namespace

Axis parse_axis(const std::string& text) {
  if (text == "z" || text == "axial") return Axis::Z;
  if (text == "y" || text == "coronal") return Axis::Y;
  if (text == "x" || text == "sagittal") return Axis::X;
  fail(ExitCode::Usage, "--axis '{}': expected z, y or x", text);
}

int axis_dim(Axis axis) { return axis == Axis::Z ? 0 : axis == Axis::Y ? 1 : 2; }

BoxSpec parse_box(const std::string& text) {
  const auto v = parse_numbers(text, "--box");
  if (v.size() != 4 && v.size() != 6)
    fail(ExitCode::Usage, "--box '{}': expected X0,Y0,X1,Y1 or X0,Y0,X1,Y1,Z0,Z1", text);
  BoxSpec b;
  std::copy(v.begin(), v.end(), b.v.begin());
  b.is_3d = v.size() == 6;
  return b;
}

PointSpec parse_point(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || (text.substr(colon + 1) != "1" && text.substr(colon + 1) != "0"))
    fail(ExitCode::Usage, "--point '{}': expected X,Y[,Z]:1 (positive) or :0 (negative)", text);
  const auto v = parse_numbers(text.substr(0, colon), "--point");
  if (v.size() != 2 && v.size() != 3) fail(ExitCode::Usage, "--point '{}': expected X,Y[,Z]:1|0", text);
  PointSpec p;
  p.x = v[0];
  p.y = v[1];
  p.has_z = v.size() == 3;
  p.z = p.has_z ? v[2] : 0;
  p.positive = text.substr(colon + 1) == "1";
  return p;
}

PromptSet prompts_from_cli(const std::vector<BoxSpec>& boxes, const std::vector<PointSpec>& points,
                           const std::array<int64_t, 3>& size, bool is_2d) {
  Builder b{size, is_2d, {}, 0};
  for (size_t i = 0; i < boxes.size(); ++i)
    b.add_box(boxes[i].v, boxes[i].is_3d, int64_t(i) + 1, fmt::format("--box #{}", i + 1));
  for (size_t i = 0; i < points.size(); ++i) {
    // Points join every box prompt on their slice, whatever its label.
    const double z = points[i].has_z ? std::round(points[i].z) : 0;
    std::set<int64_t> labels;
    for (const auto& p : b.set.prompts)
      if (p.slice == int64_t(z) && p.box) labels.insert(p.label);
    if (labels.empty()) labels.insert(1);
    for (const int64_t label : labels) b.add_point(points[i], label, true, fmt::format("--point #{}", i + 1));
  }
  if (b.set.prompts.empty()) fail(ExitCode::Usage, "no prompts: give --box, --point, --labels or --prompts");
  return b.set;
}

PromptSet prompts_from_labels(const at::Tensor& labels, Axis axis, int64_t margin) {
  if (labels.dim() != 3) fail(ExitCode::Internal, "prompts_from_labels: expected [Z,Y,X]");
  PromptSet set;
  set.axis = axis;
  const int dim = axis_dim(axis);
  const at::Tensor all = labels.to(at::kLong).cpu();
  for (int64_t s = 0; s < all.size(dim); ++s) {
    const at::Tensor slice = all.select(dim, s).contiguous();
    if (!slice.any().item<bool>()) continue;
    const auto cc = postprocess::connected_components(slice.unsqueeze(0), 26);  // one slice: 8-connected
    const at::Tensor ids = cc.ids.squeeze(0).contiguous();
    const int64_t rows = ids.size(0), cols = ids.size(1);
    std::vector<std::array<int64_t, 4>> bb(size_t(cc.count()), {cols, rows, -1, -1});
    const int32_t* id = ids.data_ptr<int32_t>();
    for (int64_t y = 0; y < rows; ++y)
      for (int64_t x = 0; x < cols; ++x)
        if (const int32_t c = id[y * cols + x]) {
          auto& b = bb[size_t(c - 1)];
          b = {std::min(b[0], x), std::min(b[1], y), std::max(b[2], x), std::max(b[3], y)};
        }
    std::vector<size_t> order(bb.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cc.label[a] < cc.label[b]; });
    for (const size_t i : order) {
      const auto& b = bb[i];
      const Box box{double(std::max<int64_t>(0, b[0] - margin)), double(std::max<int64_t>(0, b[1] - margin)),
                    double(std::min(cols - 1, b[2] + margin)), double(std::min(rows - 1, b[3] + margin))};
      set.prompts.push_back({s, cc.label[i], box, {}, -1});
    }
  }
  return set;
}

// ---- JSON -------------------------------------------------------------------------------------
namespace {
using nlohmann::json;

[[noreturn]] void bad(const std::string& file, const std::string& where, const std::string& why) {
  fail(ExitCode::Usage, "{}: {}: {}", file, where, why);
}

void only_keys(const json& j, std::initializer_list<const char*> keys, const std::string& file,
               const std::string& where) {
  if (!j.is_object()) bad(file, where, "expected an object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; }))
      bad(file, where.empty() ? it.key() : where + "." + it.key(), "unknown key");
}

std::vector<double> numbers(const json& j, const std::string& file, const std::string& where) {
  if (!j.is_array()) bad(file, where, "expected an array of numbers");
  std::vector<double> v;
  for (const auto& x : j) {
    if (!x.is_number()) bad(file, where, "expected an array of numbers");
    v.push_back(x.get<double>());
  }
  return v;
}

// Physical (mm, LPS) -> continuous index, inverting index_to_physical.
std::array<double, 3> physical_to_index(const Geometry& g, const std::array<double, 3>& p) {
  const auto& d = g.direction;
  // m = direction * diag(spacing); solve m * i = p - origin by Cramer's rule.
  double m[9];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) m[r * 3 + c] = d[size_t(r * 3 + c)] * g.spacing[size_t(c)];
  const double b[3] = {p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]};
  const auto det3 = [](const double* a) {
    return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
  };
  const double det = det3(m);
  std::array<double, 3> out{};
  for (int c = 0; c < 3; ++c) {
    double t[9];
    std::copy(m, m + 9, t);
    for (int r = 0; r < 3; ++r) t[r * 3 + c] = b[r];
    out[size_t(c)] = det3(t) / det;
  }
  return out;
}

}  // namespace

PromptSet prompts_from_json(const std::filesystem::path& file, const Geometry& geometry, bool is_2d) {
  const std::string name = file.string();
  std::ifstream in(file);
  if (!in) fail(ExitCode::BadInput, "cannot read prompts '{}'", name);
  json root;
  try {
    root = json::parse(in);
  } catch (const json::exception& e) {
    fail(ExitCode::BadInput, "cannot parse prompts '{}': {}", name, e.what());
  }
  const std::string base = file.filename().string();
  only_keys(root, {"coordinates", "labels"}, base, "");
  bool mm = false;
  if (root.contains("coordinates")) {
    const json& c = root["coordinates"];
    if (!c.is_string() || (c != "voxel" && c != "mm")) bad(base, "coordinates", "expected \"voxel\" or \"mm\"");
    mm = c == "mm";
  }
  if (!root.contains("labels") || !root["labels"].is_array()) bad(base, "labels", "expected an array of objects");
  const auto to_voxel = [&](std::array<double, 3> p) { return mm ? physical_to_index(geometry, p) : p; };
  Builder b{geometry.size, is_2d, {}, 0};
  std::vector<std::pair<int64_t, std::pair<PointSpec, std::string>>> points;
  const json& labels = root["labels"];
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string at = fmt::format("labels[{}]", i);
    const json& entry = labels[i];
    only_keys(entry, {"label", "boxes", "points"}, base, at);
    if (!entry.contains("label") || !entry["label"].is_number_integer() || entry["label"].get<int64_t>() < 1 ||
        entry["label"].get<int64_t>() > 32767)
      bad(base, at + ".label", "expected an integer 1..32767");
    const int64_t label = entry["label"].get<int64_t>();
    if (entry.contains("boxes")) {
      if (!entry["boxes"].is_array()) bad(base, at + ".boxes", "expected an array of boxes");
      for (size_t k = 0; k < entry["boxes"].size(); ++k) {
        const std::string where = fmt::format("{}.boxes[{}]", at, k);
        const auto v = numbers(entry["boxes"][k], base, where);
        if (v.size() != 4 && v.size() != 6) bad(base, where, "expected [x0,y0,x1,y1] or [x0,y0,x1,y1,z0,z1]");
        const bool is_3d = v.size() == 6;
        auto c0 = to_voxel({v[0], v[1], is_3d ? v[4] : 0}), c1 = to_voxel({v[2], v[3], is_3d ? v[5] : 0});
        if (mm)
          for (auto* c : {&c0, &c1})
            for (double& x : *c) x = std::round(x);
        std::array<double, 6> box{std::min(c0[0], c1[0]), std::min(c0[1], c1[1]), std::max(c0[0], c1[0]),
                                  std::max(c0[1], c1[1]), std::min(c0[2], c1[2]), std::max(c0[2], c1[2])};
        if (!mm) box = {v[0], v[1], v[2], v[3], is_3d ? v[4] : 0, is_3d ? v[5] : 0};
        b.add_box(box, is_3d, label, base + ": " + where);
      }
    }
    if (entry.contains("points")) {
      if (!entry["points"].is_array()) bad(base, at + ".points", "expected an array of points");
      for (size_t k = 0; k < entry["points"].size(); ++k) {
        const std::string where = fmt::format("{}.points[{}]", at, k);
        const json& p = entry["points"][k];
        only_keys(p, {"position", "positive"}, base, where);
        if (!p.contains("position")) bad(base, where + ".position", "missing");
        const auto v = numbers(p["position"], base, where + ".position");
        if (v.size() != 2 && v.size() != 3) bad(base, where + ".position", "expected [x,y] or [x,y,z]");
        if (p.contains("positive") && !p["positive"].is_boolean()) bad(base, where + ".positive", "expected true or false");
        const auto c = to_voxel({v[0], v[1], v.size() == 3 ? v[2] : 0});
        PointSpec spec{c[0], c[1], c[2], v.size() == 3, p.value("positive", true)};
        points.push_back({label, {spec, base + ": " + where}});
      }
    }
  }
  for (const auto& [label, p] : points) b.add_point(p.first, label, true, p.second);
  if (b.set.prompts.empty()) bad(base, "labels", "no boxes or points");
  return b.set;
}

}  // namespace voxseg::refine
