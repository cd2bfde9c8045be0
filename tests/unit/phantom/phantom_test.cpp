#include "voxseg/phantom/phantom.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "voxseg/core/error.h"

using namespace voxseg;
using namespace voxseg::phantom;

namespace {

// Labels and image as plain vectors in [z][y][x] order.
struct Flat {
  int64_t nx, ny, nz;
  std::vector<int64_t> labels;
  std::vector<double> image;
  Geometry geo;
  int64_t at(int64_t x, int64_t y, int64_t z) const { return (z * ny + y) * nx + x; }
};

Flat flatten(const Phantom& p) {
  Flat f;
  f.geo = p.image.geometry;
  f.nx = f.geo.size[0];
  f.ny = f.geo.size[1];
  f.nz = f.geo.size[2];
  const int64_t n = f.nx * f.ny * f.nz;
  EXPECT_EQ(p.image.data.numel(), n);
  EXPECT_EQ(p.labels.data.numel(), n);
  const at::Tensor l = p.labels.data.contiguous(), im = p.image.data.contiguous();
  f.labels.resize(size_t(n));
  f.image.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    f.labels[size_t(i)] = l.scalar_type() == at::kByte ? l.data_ptr<uint8_t>()[i] : l.data_ptr<int32_t>()[i];
    f.image[size_t(i)] = im.scalar_type() == at::kShort ? im.data_ptr<int16_t>()[i] : im.data_ptr<int32_t>()[i];
  }
  return f;
}

bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.numel()) * a.element_size()) == 0;
}

double volume_ml(const Flat& f, std::set<int64_t> ids) {
  int64_t n = 0;
  for (const auto v : f.labels) n += ids.count(v);
  return double(n) * f.geo.voxel_volume_mm3() / 1000.0;
}

// Mean physical x (LPS) of a label's voxels.
double centroid(const Flat& f, int64_t id, int axis) {
  double s = 0;
  int64_t n = 0;
  for (int64_t z = 0; z < f.nz; ++z)
    for (int64_t y = 0; y < f.ny; ++y)
      for (int64_t x = 0; x < f.nx; ++x)
        if (f.labels[size_t(f.at(x, y, z))] == id) {
          s += f.geo.index_to_physical({double(x), double(y), double(z)})[size_t(axis)];
          ++n;
        }
  return n ? s / double(n) : NAN;
}

// Mean intensity over voxels whose 6 neighbours all carry the same label (away from partial volume).
double interior_mean(const Flat& f, int64_t id, int64_t* count = nullptr) {
  double s = 0;
  int64_t n = 0;
  for (int64_t z = 1; z + 1 < f.nz; ++z)
    for (int64_t y = 1; y + 1 < f.ny; ++y)
      for (int64_t x = 1; x + 1 < f.nx; ++x) {
        const int64_t i = f.at(x, y, z);
        if (f.labels[size_t(i)] != id) continue;
        const int64_t nb[6] = {f.at(x - 1, y, z), f.at(x + 1, y, z), f.at(x, y - 1, z),
                               f.at(x, y + 1, z), f.at(x, y, z - 1), f.at(x, y, z + 1)};
        bool inside = true;
        for (const auto j : nb) inside = inside && f.labels[size_t(j)] == id;
        if (!inside) continue;
        s += f.image[size_t(i)];
        ++n;
      }
  if (count) *count = n;
  return n ? s / double(n) : NAN;
}

// Pairs (a, b), a < b, of different non-zero labels that are 6-neighbours.
std::set<std::pair<int64_t, int64_t>> contacts(const Flat& f, std::set<int64_t> only = {}) {
  std::set<std::pair<int64_t, int64_t>> pairs;
  for (int64_t z = 0; z < f.nz; ++z)
    for (int64_t y = 0; y < f.ny; ++y)
      for (int64_t x = 0; x < f.nx; ++x) {
        const int64_t a = f.labels[size_t(f.at(x, y, z))];
        const int64_t nb[3] = {x + 1 < f.nx ? f.labels[size_t(f.at(x + 1, y, z))] : 0,
                               y + 1 < f.ny ? f.labels[size_t(f.at(x, y + 1, z))] : 0,
                               z + 1 < f.nz ? f.labels[size_t(f.at(x, y, z + 1))] : 0};
        for (const auto b : nb)
          if (a != 0 && b != 0 && a != b) pairs.insert({std::min(a, b), std::max(a, b)});
      }
  return pairs;
}

PhantomOptions ct(uint64_t seed, std::array<int64_t, 3> size, std::array<double, 3> spacing) {
  PhantomOptions o;
  o.kind = PhantomKind::CtAbdomen;
  o.seed = seed;
  o.size = size;
  o.spacing_mm = spacing;
  return o;
}

}  // namespace

TEST(Phantom, SameSeedGivesIdenticalTensorsAndOtherSeedsDiffer) {
  for (const auto kind : {PhantomKind::CtAbdomen, PhantomKind::MrBrain, PhantomKind::Cells}) {
    PhantomOptions o;
    o.kind = kind;
    o.seed = 5;
    o.size = {48, 48, 24};
    const Phantom a = make_phantom(o), b = make_phantom(o);
    EXPECT_TRUE(same_bytes(a.image.data, b.image.data)) << kind_name(kind);
    EXPECT_TRUE(same_bytes(a.labels.data, b.labels.data)) << kind_name(kind);
    o.seed = 6;
    const Phantom c = make_phantom(o);
    EXPECT_FALSE(same_bytes(a.image.data, c.image.data)) << kind_name(kind);
    EXPECT_FALSE(same_bytes(a.labels.data, c.labels.data)) << kind_name(kind);
  }
}

TEST(Phantom, GeometryIsCentredLpsWithTheRequestedSpacing) {
  const Phantom p = make_phantom(ct(1, {40, 30, 12}, {0.8, 0.8, 2.5}));
  const Geometry& g = p.image.geometry;
  EXPECT_EQ(g.size, (std::array<int64_t, 3>{40, 30, 12}));
  EXPECT_EQ(g.spacing, (std::array<double, 3>{0.8, 0.8, 2.5}));
  EXPECT_EQ(g.orientation_code(), "LPS");
  const auto first = g.index_to_physical({0, 0, 0}), last = g.index_to_physical({39, 29, 11});
  for (int a = 0; a < 3; ++a) EXPECT_NEAR(first[size_t(a)] + last[size_t(a)], 0.0, 1e-9);
  EXPECT_TRUE(same_geometry(p.image.geometry, p.labels.geometry));
  EXPECT_EQ(p.image.data.sizes(), (std::vector<int64_t>{12, 30, 40}));
  EXPECT_EQ(p.image.data.scalar_type(), at::kShort);
  EXPECT_EQ(p.labels.data.scalar_type(), at::kByte);
}

TEST(Phantom, InvalidOptionsAreUsageErrors) {
  auto expect_usage = [](PhantomOptions o) {
    try {
      make_phantom(o);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::Usage) << e.what();
    }
  };
  expect_usage(ct(1, {4, 64, 64}, {1, 1, 1}));
  expect_usage(ct(1, {64, 64, 64}, {-1, 1, 1}));
  PhantomOptions o = ct(1, {64, 64, 16}, {1, 1, 1});
  o.objects = 1001;
  expect_usage(o);
  o.objects = 0;
  o.kind = PhantomKind::Cells;
  expect_usage(o);
  expect_usage(ct(1, {1024, 1024, 200}, {1, 1, 1}));
  EXPECT_THROW(parse_kind("pet"), Error);
  EXPECT_EQ(parse_kind("mr-brain"), PhantomKind::MrBrain);
}

TEST(CtAbdomen, OrganVolumesAreHumanAtTheReferenceFieldOfView) {
  // 380 x 300 x 260 mm is the field of view the anatomy is drawn for (scale 1).
  for (const uint64_t seed : {1u, 2u, 3u}) {
    const Flat f = flatten(make_phantom(ct(seed, {190, 150, 104}, {2.0, 2.0, 2.5})));
    const double liver = volume_ml(f, {1, 5}), spleen = volume_ml(f, {2});
    const double kl = volume_ml(f, {3}), kr = volume_ml(f, {4}), tumour = volume_ml(f, {5});
    EXPECT_GT(liver, 1000) << seed;
    EXPECT_LT(liver, 2300) << seed;
    EXPECT_GT(spleen, 100) << seed;
    EXPECT_LT(spleen, 400) << seed;
    for (const double k : {kl, kr}) {
      EXPECT_GT(k, 90) << seed;
      EXPECT_LT(k, 250) << seed;
    }
    EXPECT_LT(tumour, 0.4 * liver) << seed;  // 0-4 tumours of at most 50 ml each
  }
}

TEST(CtAbdomen, AnatomyScalesWithTheFieldOfView) {
  const Flat full = flatten(make_phantom(ct(4, {190, 150, 104}, {2.0, 2.0, 2.5})));
  const Flat half = flatten(make_phantom(ct(4, {95, 75, 52}, {2.0, 2.0, 2.5})));  // every axis halved
  const double ratio = volume_ml(half, {1, 5}) / volume_ml(full, {1, 5});
  EXPECT_NEAR(ratio, 0.125, 0.02);
}

TEST(CtAbdomen, OrgansSitOnTheirAnatomicalSidesInLps) {
  const Flat f = flatten(make_phantom(ct(7, {128, 128, 48}, {3.0, 3.0, 5.0})));
  EXPECT_GT(centroid(f, 3, 0), 20.0);   // kidney_left: patient's left is +x in LPS
  EXPECT_LT(centroid(f, 4, 0), -20.0);  // kidney_right
  EXPECT_LT(centroid(f, 1, 0), 0.0);    // liver on the right
  EXPECT_GT(centroid(f, 2, 0), 20.0);   // spleen on the left
  EXPECT_GT(centroid(f, 3, 1), 0.0);    // kidneys are posterior (+y)
  EXPECT_LT(centroid(f, 1, 2) - centroid(f, 4, 2), 0.0 + 200.0);
  EXPECT_GT(centroid(f, 1, 2), centroid(f, 4, 2));  // liver above the right kidney
  // Bone (> 300 HU) is mostly the spine, posterior and central.
  double sx = 0, sy = 0;
  int64_t n = 0;
  for (int64_t z = 0; z < f.nz; ++z)
    for (int64_t y = 0; y < f.ny; ++y)
      for (int64_t x = 0; x < f.nx; ++x)
        if (f.image[size_t(f.at(x, y, z))] > 300) {
          const auto p = f.geo.index_to_physical({double(x), double(y), double(z)});
          sx += p[0];
          sy += p[1];
          ++n;
        }
  ASSERT_GT(n, 0);
  EXPECT_GT(sy / double(n), 30.0);
  EXPECT_LT(std::fabs(sx / double(n)), 25.0);
}

TEST(CtAbdomen, ZeroObjectsMeansNoTumours) {
  PhantomOptions o = ct(3, {64, 64, 24}, {6.0, 6.0, 10.0});
  o.objects = 0;
  const Flat f = flatten(make_phantom(o));
  EXPECT_EQ(volume_ml(f, {5}), 0.0);
  EXPECT_GT(volume_ml(f, {1}), 0.0);
}

TEST(Phantom, TinyGridsWork) {
  for (const auto kind : {PhantomKind::CtAbdomen, PhantomKind::MrBrain, PhantomKind::Cells}) {
    PhantomOptions o;
    o.kind = kind;
    o.size = {8, 8, 8};
    const Phantom p = make_phantom(o);
    EXPECT_EQ(p.image.data.numel(), 512) << kind_name(kind);
  }
}

TEST(CtAbdomen, TumoursLieInsideTheLiver) {
  for (const uint64_t seed : {1u, 8u, 9u}) {
    PhantomOptions o = ct(seed, {128, 128, 52}, {3.0, 3.0, 5.0});
    o.objects = 5;
    const Flat f = flatten(make_phantom(o));
    int64_t tumour = 0, next_to_liver = 0, next_to_other = 0;
    for (int64_t z = 1; z + 1 < f.nz; ++z)
      for (int64_t y = 1; y + 1 < f.ny; ++y)
        for (int64_t x = 1; x + 1 < f.nx; ++x) {
          if (f.labels[size_t(f.at(x, y, z))] != 5) continue;
          ++tumour;
          for (const auto j : {f.at(x - 1, y, z), f.at(x + 1, y, z), f.at(x, y - 1, z), f.at(x, y + 1, z),
                               f.at(x, y, z - 1), f.at(x, y, z + 1)}) {
            const int64_t l = f.labels[size_t(j)];
            if (l == 1) ++next_to_liver;
            if (l != 1 && l != 5) ++next_to_other;
          }
        }
    ASSERT_GT(tumour, 0) << seed;
    // A tumour may reach the liver's surface, but most of its border is liver.
    EXPECT_GT(next_to_liver, 4 * next_to_other) << seed;
  }
}

TEST(CtAbdomen, IntensitiesMatchTheDeclaredHuWithinNoise) {
  const Flat f = flatten(make_phantom(ct(2, {160, 128, 60}, {2.4, 2.4, 4.4})));
  const auto nominal = nominal_intensities(PhantomKind::CtAbdomen);
  for (int64_t id = 1; id <= 4; ++id) {  // tumours vary per object: TumoursVaryInCountSizeAndContrast
    int64_t n = 0;
    const double mean = interior_mean(f, id, &n);
    ASSERT_GT(n, 20) << id;
    EXPECT_NEAR(mean, nominal[size_t(id)], 7.0) << "label " << id;
  }
  // Air in a corner: -1000 HU with ~12 HU noise.
  double s = 0, s2 = 0;
  int64_t n = 0;
  for (int64_t y = 0; y < 6; ++y)
    for (int64_t x = 0; x < 6; ++x)
      for (int64_t z = 0; z < f.nz; ++z) {
        const double v = f.image[size_t(f.at(x, y, z))];
        s += v;
        s2 += v * v;
        ++n;
      }
  const double mean = s / double(n), sd = std::sqrt(s2 / double(n) - mean * mean);
  EXPECT_NEAR(mean, -1000.0, 3.0);
  EXPECT_GT(sd, 9.0);
  EXPECT_LT(sd, 15.0);
}

namespace {
// One tumour (CT) or lesion (MR) per seed at a coarse reference field of view: its volume and its
// mean intensity relative to the surrounding tissue.
struct ObjectStats {
  double volume_ml = 0, contrast = 0, brightest = 0;  ///< mean and maximum minus the host tissue's mean
};
ObjectStats one_object(PhantomKind kind, uint64_t seed) {
  PhantomOptions o;
  o.kind = kind;
  o.seed = seed;
  o.objects = 1;
  if (kind == PhantomKind::CtAbdomen) {
    o.size = {128, 100, 52};
    o.spacing_mm = {3.0, 3.0, 5.0};
  } else {
    o.size = {90, 110, 95};
    o.spacing_mm = {2.0, 2.0, 2.0};
  }
  const Flat f = flatten(make_phantom(o));
  const int64_t id = kind == PhantomKind::CtAbdomen ? 5 : 4, host = kind == PhantomKind::CtAbdomen ? 1 : 3;
  double s = 0, top = -1e9;
  int64_t n = 0;
  for (size_t i = 0; i < f.labels.size(); ++i)
    if (f.labels[i] == id) s += f.image[i], top = std::max(top, f.image[i]), ++n;
  const double h = interior_mean(f, host);
  return {volume_ml(f, {id}), n ? s / double(n) - h : 0.0, n ? top - h : 0.0};
}
}  // namespace

TEST(CtAbdomen, TumoursVaryInCountSizeAndContrast) {
  std::set<int> counts;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    PhantomOptions o = ct(seed, {32, 32, 16}, {12.0, 9.4, 16.0});
    counts.insert(make_phantom(o).options.objects);  // the count drawn for the seed is recorded
  }
  EXPECT_GE(counts.size(), 3u);
  EXPECT_GE(*counts.begin(), 0);
  EXPECT_LE(*counts.rbegin(), 4);
  double smallest = 1e9, largest = 0;
  int hypo = 0, hyper = 0;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const auto t = one_object(PhantomKind::CtAbdomen, seed);
    EXPECT_LT(t.volume_ml, 60.0) << seed;  // (a 0.1 ml tumour may fall between 45 mm^3 voxel centres)
    if (t.volume_ml == 0) continue;
    smallest = std::min(smallest, t.volume_ml);
    largest = std::max(largest, t.volume_ml);
    hypo += t.contrast < -15;
    hyper += t.brightest > 40;  // hyperdense or an enhancing rim (noise is 12 HU)
  }
  EXPECT_LT(smallest, 2.0);  // log-uniform 0.1-50 ml: 16 draws span more than a decade
  EXPECT_GT(largest, 8.0);
  EXPECT_GE(hypo, 3);
  EXPECT_GE(hyper, 1);
}

TEST(CtAbdomen, OrgansDoNotDependOnTumours) {
  // Tumours have their own random stream: with and without them the organs are the same voxels,
  // and an explicit --objects equal to the drawn count remakes the default case exactly.
  PhantomOptions o = ct(5, {96, 96, 40}, {4.0, 4.0, 6.3});
  const Phantom drawn = make_phantom(o);
  o.objects = 0;
  const Phantom none = make_phantom(o);
  const at::Tensor with = drawn.labels.data.clone();
  with.masked_fill_(with.eq(5), 1);
  EXPECT_TRUE(same_bytes(with, none.labels.data));
  o.objects = drawn.options.objects;
  EXPECT_TRUE(same_bytes(make_phantom(o).image.data, drawn.image.data));
}

TEST(MrBrain, LesionsVaryInCountSizeAndContrastInWhiteMatter) {
  double smallest = 1e9, largest = 0;
  int hypo = 0, hyper = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const auto l = one_object(PhantomKind::MrBrain, seed);
    EXPECT_GT(l.volume_ml, 0.0) << seed;
    smallest = std::min(smallest, l.volume_ml);
    largest = std::max(largest, l.volume_ml);
    hypo += l.contrast < -150;
    hyper += l.brightest > 150;  // enhancing or ring-enhancing (noise is 18)
  }
  EXPECT_LT(smallest, 0.6);
  EXPECT_GT(largest, 2.0);
  EXPECT_GE(hypo, 3);
  EXPECT_GE(hyper, 1);
  PhantomOptions o;
  o.kind = PhantomKind::MrBrain;
  o.seed = 4;
  o.size = {45, 55, 48};
  o.spacing_mm = {4.0, 4.0, 4.0};
  const Phantom drawn = make_phantom(o);
  o.objects = 0;
  const at::Tensor with = drawn.labels.data.clone();
  with.masked_fill_(with.eq(4), 3);  // lesions replace white matter only
  EXPECT_TRUE(same_bytes(with, make_phantom(o).labels.data));
}

TEST(MrBrain, TissuesHaveT1wContrastAndPlausibleVolumes) {
  PhantomOptions o;
  o.kind = PhantomKind::MrBrain;
  o.seed = 3;
  o.size = {90, 110, 95};
  o.spacing_mm = {2.0, 2.0, 2.0};  // the reference field of view 180 x 220 x 190 mm
  o.objects = 2;
  const Phantom p = make_phantom(o);
  const Flat f = flatten(p);
  const auto nominal = nominal_intensities(PhantomKind::MrBrain);
  const double csf = interior_mean(f, 1), gm = interior_mean(f, 2), wm = interior_mean(f, 3);
  EXPECT_LT(csf, gm);
  EXPECT_LT(gm, wm);
  EXPECT_NEAR(wm / nominal[3], 1.0, 0.15);
  EXPECT_NEAR(gm / nominal[2], 1.0, 0.15);
  const double brain = volume_ml(f, {2, 3, 4});
  EXPECT_GT(brain, 900);  // adult brain tissue ~1100-1400 ml
  EXPECT_LT(brain, 1800);
  EXPECT_GT(volume_ml(f, {2}), 0.25 * brain);
  EXPECT_GT(volume_ml(f, {3}), 0.25 * brain);
  EXPECT_GT(volume_ml(f, {1}), 40);
  EXPECT_GT(volume_ml(f, {4}), 0.02);
  // Lesions are in the white matter: their border is mostly white matter.
  const auto pairs = contacts(f);
  EXPECT_TRUE(pairs.count({3, 4}));
  // Outside the head the magnitude image is pure Rician (Rayleigh) noise: small and positive.
  double corner = 0;
  for (int64_t x = 0; x < 5; ++x) corner += f.image[size_t(f.at(x, 0, 0))];
  EXPECT_GT(corner / 5, 1.0);
  EXPECT_LT(corner / 5, 60.0);
}

TEST(Cells, InstanceIdsAreContiguousAndSomeNucleiTouch) {
  for (const uint64_t seed : {1u, 2u, 3u}) {
    PhantomOptions o;
    o.kind = PhantomKind::Cells;
    o.seed = seed;
    o.objects = 20;
    const Phantom p = make_phantom(o);
    const Flat f = flatten(p);
    std::set<int64_t> ids(f.labels.begin(), f.labels.end());
    const int64_t n = *ids.rbegin();
    EXPECT_EQ(int64_t(ids.size()), n + 1) << seed;  // 0..N with no gaps
    EXPECT_GE(n, 14) << seed;
    EXPECT_LE(n, 20) << seed;
    EXPECT_EQ(int64_t(p.label_table.size()), n + 1);
    EXPECT_GE(contacts(f).size(), 2u) << seed;
    EXPECT_EQ(p.labels.data.scalar_type(), at::kInt);
    // Nuclei are bright over a dim background near the camera offset.
    double fg = 0, bg = 0;
    int64_t nf = 0, nb = 0;
    for (size_t i = 0; i < f.labels.size(); ++i) {
      if (f.labels[i]) {
        fg += f.image[i];
        ++nf;
      } else {
        bg += f.image[i];
        ++nb;
      }
    }
    EXPECT_GT(fg / double(nf), bg / double(nb) + 80.0);
    EXPECT_GT(bg / double(nb), 100.0);
    EXPECT_LT(bg / double(nb), 160.0);
  }
}

TEST(Dataset, JsonFollowsNnUnetV2) {
  PhantomOptions o;
  o.kind = PhantomKind::CtAbdomen;
  o.seed = 10;
  const Json d = dataset_json(o, 3);
  EXPECT_EQ(d.find("channel_names")->find("0")->as_string(), "CT");
  EXPECT_EQ(d.find("labels")->find("background")->as_int(), 0);
  EXPECT_EQ(d.find("labels")->find("liver_tumor")->as_int(), 5);
  EXPECT_EQ(d.find("numTraining")->as_int(), 3);
  EXPECT_EQ(d.find("file_ending")->as_string(), ".nii.gz");
  EXPECT_EQ(d.find("training")->as_array()[2].find("image")->as_string(), "./imagesTr/ct-abdomen_012_0000.nii.gz");
  EXPECT_EQ(case_id(PhantomKind::Cells, 7), "cells_007");
}
