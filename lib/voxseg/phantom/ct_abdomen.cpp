// Synthetic abdominal CT: body with fat and muscle layers, spine, ribs, vessels, bowel, liver with
// tumours, spleen, kidneys with cortex. Anatomy is laid out in a reference adult abdomen (mm, LPS:
// +x patient left, +y posterior, +z superior) and scaled to the field of view.
#include <cmath>

#include "voxseg/phantom/detail/generators.h"

namespace voxseg::phantom::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;
// Reference field of view the anatomy is designed for (mm).
constexpr double kRefWidth = 380.0, kRefDepth = 300.0, kRefHeight = 260.0;

enum Label : int32_t { kBackground = 0, kLiver = 1, kSpleen = 2, kKidneyLeft = 3, kKidneyRight = 4, kTumour = 5 };
enum Region : uint8_t { kAir = 0, kFat = 1, kMuscle = 2, kCavity = 3 };

// HU of tissues (nominal means; texture, blur and noise are added around them).
constexpr double kAirHu = -1000, kFatHu = -100, kMuscleHu = 50, kBowelHu = 35, kVisceralFatHu = -90, kGasHu = -950,
                 kBloodHu = 42, kCortexHu = 1000, kCancellousHu = 450, kArchHu = 700, kDiscHu = 85, kCsfHu = 12,
                 kRibHu = 650, kTableHu = 180, kBileHu = 10, kLiverHu = 60, kSpleenHu = 50, kKidneyCortexHu = 40,
                 kKidneyMedullaHu = 30, kNecrosisHu = 8, kLungHu = -850;
// Tumour HU ranges: hypodense core, hyperdense, enhancing rim (the liver is 60 +- 4).
constexpr double kTumourHuMin = 10, kTumourHuMax = 40, kHyperHuMin = 85, kHyperHuMax = 110, kRimHuMin = 90,
                 kRimHuMax = 115;
constexpr double kNoiseHu = 12.0;

Blob make_blob(Rng& rng, std::array<double, 3> centre, std::array<double, 3> axes, double jitter_mm,
               std::array<double, 3> angles, double deform) {
  Blob b;
  for (int a = 0; a < 3; ++a) {
    b.centre[a] = centre[a] + rng.uniform(-jitter_mm, jitter_mm);
    b.axes[a] = axes[a] * rng.uniform(0.92, 1.08);
  }
  b.rot = rotation(angles[0] + rng.uniform(-0.12, 0.12), angles[1] + rng.uniform(-0.08, 0.08),
                   angles[2] + rng.uniform(-0.08, 0.08));
  b.surface = SmoothField::random(rng, 5, 1.2, 3.2, deform);
  return b;
}

}  // namespace

RawPhantom generate_ct_abdomen(const PhantomOptions& options, const Grid& g) {
  Rng rng(options.seed, "ct-abdomen/anatomy");
  // In-plane scale keeps the body's aspect; z scales on its own.
  const double s_xy = std::min(g.fov_x() / kRefWidth, g.fov_y() / kRefDepth);
  const double s_z = g.fov_z() / kRefHeight;
  const std::array<double, 3> scale{s_xy, s_xy, s_z};

  // ---- body outline: elliptic cylinder, flatter at the back, lumpy, with fat and muscle layers.
  const double body_a = 165.0 * rng.uniform(0.9, 1.06), body_b = 122.0 * rng.uniform(0.9, 1.05);
  const SmoothField outline = SmoothField::random(rng, 4, 2.0, 5.0, 0.05);  // on (cos t, sin t, 0)
  const double fat_mm = rng.uniform(10.0, 28.0);
  const SmoothField fat_var = SmoothField::random(rng, 3, 1.0, 3.0, 0.35);
  const double muscle_mm = rng.uniform(8.0, 13.0);
  const double waist_phase = rng.uniform(0.0, 2 * kPi);

  const int64_t plane = g.nx * g.ny;
  // Per (x, y): polar angle terms that do not change along z.
  const size_t n_plane = size_t(plane);
  std::vector<float> t_outline(n_plane), t_fat(n_plane), t_edge(n_plane), t_angle(n_plane);
  for (int64_t j = 0; j < g.ny; ++j)
    for (int64_t i = 0; i < g.nx; ++i) {
      const double xr = g.px(i) / s_xy, yr = g.py(j) / s_xy;
      const double t = std::atan2(yr, xr);
      const double c = std::cos(t), s = std::sin(t);
      t_angle[size_t(j * g.nx + i)] = float(t);
      t_outline[size_t(j * g.nx + i)] = float(outline(c, s, 0.0));
      // Fat is thicker in front (negative y) and on the flanks, thinner at the back.
      t_fat[size_t(j * g.nx + i)] = float(fat_mm * (1.0 - 0.45 * s) * (1.0 + fat_var(c, s, 0.0)));
      const double bb = s > 0 ? body_b * 0.93 : body_b;
      t_edge[size_t(j * g.nx + i)] = float(1.0 / std::sqrt((c / body_a) * (c / body_a) + (s / bb) * (s / bb)));
    }

  RawPhantom out;
  out.image.assign(size_t(g.count()), float(kAirHu));
  out.labels.assign(size_t(g.count()), kBackground);
  std::vector<uint8_t> region(size_t(g.count()), kAir);
  auto& img = out.image;
  auto& lab = out.labels;

  // Visceral fat between bowel loops, and bowel wall texture.
  const SmoothField mesentery = SmoothField::random(rng, 6, 2 * kPi / 60.0, 2 * kPi / 25.0, 1.0);
  const double table_y = body_b * 0.93 + rng.uniform(8.0, 20.0);

  for (int64_t k = 0; k < g.nz; ++k) {
    const double zr = g.pz(k) / s_z;
    const double waist = 1.0 + 0.04 * std::sin(zr / 90.0 + waist_phase);
    for (int64_t j = 0; j < g.ny; ++j) {
      const double yr = g.py(j) / s_xy;
      for (int64_t i = 0; i < g.nx; ++i) {
        const int64_t p = j * g.nx + i;
        const int64_t idx = k * plane + p;
        const double xr = g.px(i) / s_xy;
        const double r = std::sqrt(xr * xr + yr * yr);
        const double edge = t_edge[size_t(p)] * waist * (1.0 + t_outline[size_t(p)]);
        const double depth = edge - r;  // mm inside the skin along the ray from the centre
        if (depth < 0) {
          if (yr > table_y && yr < table_y + 7.0 && std::fabs(xr) < 0.75 * body_a) img[size_t(idx)] = kTableHu;
          continue;
        }
        const double fat = t_fat[size_t(p)];
        if (depth < 2.0) {
          region[size_t(idx)] = kMuscle;  // skin
          img[size_t(idx)] = float(kMuscleHu - 10);
        } else if (depth < fat) {
          region[size_t(idx)] = kFat;
          img[size_t(idx)] = float(kFatHu);
        } else if (depth < fat + muscle_mm) {
          region[size_t(idx)] = kMuscle;
          img[size_t(idx)] = float(kMuscleHu);
        } else {
          region[size_t(idx)] = kCavity;
          // Bowel loops: mesenteric fat, a wall around each loop, fluid content.
          const double m = mesentery(xr, yr, zr);
          img[size_t(idx)] = float(m > 0.22 ? kVisceralFatHu : m > -0.08 ? kMuscleHu - 5.0 : kBowelHu - 15.0 + 20.0 * m);
        }
        // Ribs: bony arcs just inside the muscle wall, upper abdomen, not at the front or the spine.
        const double t = t_angle[size_t(p)];
        const double front = std::fabs(t + kPi / 2), back = std::fabs(t - kPi / 2);
        if (zr > -30.0 && front > 0.7 && back > 0.45 && depth > fat + muscle_mm - 4.0 &&
            depth < fat + muscle_mm + 6.0) {
          const double phase = std::fmod(zr + 200.0 + 18.0 * std::sin(t), 30.0);
          if (phase < 9.0) {
            img[size_t(idx)] = float(kRibHu);
            region[size_t(idx)] = kMuscle;  // organs never paint into bone
          }
        }
      }
    }
  }

  auto ref = [&](double x, double y, double z) { return std::array<double, 3>{x / s_xy, y / s_xy, z / s_z}; };
  auto box = [&](const Blob& b, std::array<double, 3>& lo, std::array<double, 3>& hi) {
    const double r = b.bound();
    for (int a = 0; a < 3; ++a) {
      lo[a] = (b.centre[a] - r) * scale[a];
      hi[a] = (b.centre[a] + r) * scale[a];
    }
  };

  // Bowel gas pockets in the anterior cavity.
  const int gas_count = int(rng.uniform_int(3, 7));
  for (int n = 0; n < gas_count; ++n) {
    const Blob gas = make_blob(rng, {rng.uniform(-40, 90), rng.uniform(-90, -30), rng.uniform(-110, 10)},
                               {rng.uniform(6, 16), rng.uniform(5, 12), rng.uniform(6, 20)}, 0.0, {0, 0, 0}, 0.15);
    std::array<double, 3> lo, hi;
    box(gas, lo, hi);
    for_each_in_box(g, lo, hi, [&](int64_t idx, double x, double y, double z) {
      const auto q = ref(x, y, z);
      if (region[size_t(idx)] == kCavity && gas.level(q[0], q[1], q[2]) < 1.0) img[size_t(idx)] = float(kGasHu);
    });
  }

  // Vessels and psoas muscles: columns along z (drawn over the whole height).
  const double aorta_x = 16 + rng.uniform(-4, 4), ivc_x = -24 + rng.uniform(-4, 4);
  const double disc_period = rng.uniform(30.0, 35.0), disc_phase = rng.uniform(0.0, 35.0);
  for (int64_t k = 0; k < g.nz; ++k) {
    const double zr = g.pz(k) / s_z;
    const double psoas = std::clamp(1.0 - (zr - 40.0) / 160.0, 0.0, 1.4);
    const double vert = std::fmod(zr + 400.0 + disc_phase, disc_period);
    const bool disc = vert < 6.0;
    for (int64_t j = 0; j < g.ny; ++j) {
      const double yr = g.py(j) / s_xy;
      for (int64_t i = 0; i < g.nx; ++i) {
        const int64_t idx = g.index(i, j, k);
        if (region[size_t(idx)] == kAir || region[size_t(idx)] == kFat) continue;
        const double xr = g.px(i) / s_xy;
        auto in_circle = [&](double cx, double cy, double rx, double ry) {
          return ((xr - cx) / rx) * ((xr - cx) / rx) + ((yr - cy) / ry) * ((yr - cy) / ry) < 1.0;
        };
        if (in_circle(aorta_x, 42, 11, 11) || in_circle(ivc_x, 38, 12, 10)) img[size_t(idx)] = float(kBloodHu);
        if (psoas > 0.05 && (in_circle(42, 72, 17 * psoas, 14 * psoas) || in_circle(-42, 72, 17 * psoas, 14 * psoas)))
          img[size_t(idx)] = float(kMuscleHu);
        // Spine: vertebral body (cortex + cancellous) or disc, canal, posterior arch, spinous process.
        const double vb = ((xr / 22.0) * (xr / 22.0) + ((yr - 76) / 18.0) * ((yr - 76) / 18.0));
        const double canal = std::sqrt(xr * xr + (yr - 106) * (yr - 106));
        bool bone = false;
        if (vb < 1.0) {
          img[size_t(idx)] = float(disc ? kDiscHu : (vb > 0.72 ? kCortexHu : kCancellousHu));
          bone = true;
        } else if (canal < 9.0) {
          img[size_t(idx)] = float(kCsfHu);
          bone = true;
        } else if (!disc && (canal < 15.0 || (std::fabs(xr) < 5.0 && yr > 106 && yr < 140))) {
          img[size_t(idx)] = float(kArchHu);
          bone = true;
        }
        if (bone) region[size_t(idx)] = kMuscle;  // keep organs out of the spine
      }
    }
  }

  // ---- organs (painted only inside the cavity; later ones override earlier ones).
  const Blob liver = make_blob(rng, {-72, -2, 42}, {76, 84, 68}, 6.0, {0.1, 0, 0}, 0.18);
  const Blob liver_left = make_blob(rng, {8, -45, 55}, {50, 30, 32}, 5.0, {-0.3, 0, 0}, 0.12);
  const Blob gallbladder = make_blob(rng, {-40, -58, -5}, {14, 14, 30}, 4.0, {0, 0, 0.4}, 0.1);
  const Blob spleen = make_blob(rng, {102, 42, 62}, {25, 50, 42}, 5.0, {0.5, 0, 0}, 0.12);
  const Blob kidney_l = make_blob(rng, {78, 50, -20}, {26, 23, 55}, 5.0, {0.4, 0.15, 0}, 0.06);
  const Blob kidney_r = make_blob(rng, {-78, 50, -38}, {26, 23, 55}, 5.0, {-0.4, -0.15, 0}, 0.06);
  const SmoothField texture = SmoothField::random(rng, 5, 2 * kPi / 40.0, 2 * kPi / 12.0, 1.0);

  auto paint = [&](const Blob& b, auto&& fn) {
    std::array<double, 3> lo, hi;
    box(b, lo, hi);
    for_each_in_box(g, lo, hi, [&](int64_t idx, double x, double y, double z) {
      if (region[size_t(idx)] != kCavity) return;
      const auto q = ref(x, y, z);
      const double l = b.level(q[0], q[1], q[2]);
      if (l < 1.0) fn(idx, l, q);
    });
  };
  // Lung bases behind and above the liver and spleen (the organs override them).
  for (const double side : {-1.0, 1.0}) {
    const Blob lung = make_blob(rng, {side * 80, 35, 175}, {75, 80, 90}, 5.0, {0, 0, 0}, 0.05);
    paint(lung, [&](int64_t idx, double, const std::array<double, 3>&) { img[size_t(idx)] = float(kLungHu); });
  }
  auto liver_fn = [&](int64_t idx, double, const std::array<double, 3>& q) {
    img[size_t(idx)] = float(kLiverHu + 4.0 * texture(q[0], q[1], q[2]));
    lab[size_t(idx)] = kLiver;
  };
  paint(liver, liver_fn);
  paint(liver_left, liver_fn);
  paint(gallbladder, [&](int64_t idx, double, const std::array<double, 3>&) {
    img[size_t(idx)] = float(kBileHu);
    lab[size_t(idx)] = kBackground;
  });
  paint(spleen, [&](int64_t idx, double, const std::array<double, 3>& q) {
    img[size_t(idx)] = float(kSpleenHu + 3.0 * texture(q[1], q[2], q[0]));
    lab[size_t(idx)] = kSpleen;
  });
  // Perirenal fat around the kidneys (drawn first, so the kidney itself overrides it).
  for (const auto* kidney : {&kidney_l, &kidney_r}) {
    Blob capsule = *kidney;
    for (auto& a : capsule.axes) a += 9.0;
    paint(capsule, [&](int64_t idx, double, const std::array<double, 3>&) {
      if (lab[size_t(idx)] == kBackground) img[size_t(idx)] = float(kVisceralFatHu);
    });
  }
  for (const auto* kidney : {&kidney_l, &kidney_r}) {
    const int32_t id = kidney == &kidney_l ? kKidneyLeft : kKidneyRight;
    paint(*kidney, [&](int64_t idx, double l, const std::array<double, 3>&) {
      img[size_t(idx)] = float(l > 0.75 ? kKidneyCortexHu : kKidneyMedullaHu);
      lab[size_t(idx)] = id;
    });
  }

  // Tumours come from their own stream, drawn after every organ: the organs of a seed do not depend
  // on them (docs/phantom.md, "Tumours and lesions").
  Rng trng(options.seed, "ct-abdomen/tumours");
  const int drawn = lesion_count(trng);  // always drawn, so --objects N equal to it remakes the case
  const int tumours = options.objects >= 0 ? options.objects : drawn;
  std::vector<std::array<double, 4>> placed;             // centre (mm, reference frame) and radius
  auto liver_at = [&](const std::array<double, 3>& q) {  // reference mm -> nearest voxel is liver
    const int64_t i = std::llround((q[0] * s_xy - g.ox) / g.sx), j = std::llround((q[1] * s_xy - g.oy) / g.sy),
                  k = std::llround((q[2] * s_z - g.oz) / g.sz);
    if (i < 0 || j < 0 || k < 0 || i >= g.nx || j >= g.ny || k >= g.nz) return false;
    return lab[size_t(g.index(i, j, k))] == kLiver;
  };
  for (int n = 0; n < tumours; ++n) {
    // Volume log-uniform in 0.1..50 ml at the reference field of view.
    const double volume_ml = 0.1 * std::exp(trng.uniform(0.0, std::log(500.0)));
    const double radius = std::cbrt(volume_ml * 1000.0 * 3.0 / (4.0 * kPi));
    // Anywhere in either lobe short of its outer rim (near the surface they are clipped by it), not
    // overlapping an earlier tumour.
    const Blob& lobe = trng.uniform() < 0.8 ? liver : liver_left;
    std::array<double, 3> c = lobe.centre;
    const double reach = lobe.bound();
    for (int attempt = 0; attempt < 300; ++attempt) {
      const std::array<double, 3> t{lobe.centre[0] + trng.uniform(-reach, reach),
                                    lobe.centre[1] + trng.uniform(-reach, reach),
                                    lobe.centre[2] + trng.uniform(-reach, reach)};
      // The centre well inside a lobe, and liver voxels (not ribs, wall or gallbladder) at the
      // centre and 0.8 radius from it along each axis, so most of the tumour lies in the liver.
      bool apart = lobe.level(t[0], t[1], t[2]) < 0.85 && liver_at(t);
      for (int a = 0; a < 3 && apart; ++a)
        for (const double sign : {-0.8, 0.8}) {
          std::array<double, 3> e = t;
          e[size_t(a)] += sign * radius;
          apart = apart && liver_at(e);
        }
      for (const auto& q : placed)
        apart = apart && std::hypot(t[0] - q[0], t[1] - q[1], t[2] - q[2]) > radius + q[3] + 3.0;
      if (apart) {
        c = t;
        break;
      }
    }
    placed.push_back({c[0], c[1], c[2], radius});
    const Blob tumour = make_blob(
        trng, c,
        {radius * trng.uniform(0.85, 1.15), radius * trng.uniform(0.85, 1.15), radius * trng.uniform(0.85, 1.15)}, 0.0,
        {trng.uniform(0, kPi), trng.uniform(-0.5, 0.5), 0}, 0.15);
    // Appearance: hypodense (most metastases, cysts), hyperdense (haemorrhagic or calcified), or a
    // hypodense core with an enhancing rim; large hypodense ones get a necrotic centre.
    const double kind = trng.uniform();
    const double core_hu = kind < 0.55  ? trng.uniform(kTumourHuMin, kTumourHuMax)
                           : kind < 0.8 ? trng.uniform(kHyperHuMin, kHyperHuMax)
                                        : trng.uniform(kTumourHuMin, kTumourHuMax);
    const double rim_hu = kind >= 0.8 ? trng.uniform(kRimHuMin, kRimHuMax) : core_hu;
    const bool necrotic = kind < 0.55 && radius > 14.0;
    paint(tumour, [&](int64_t idx, double l, const std::array<double, 3>&) {
      if (lab[size_t(idx)] != kLiver && lab[size_t(idx)] != kTumour) return;
      img[size_t(idx)] = float(l > 0.72 ? rim_hu : necrotic && l < 0.45 ? kNecrosisHu : core_hu);
      lab[size_t(idx)] = kTumour;
    });
  }
  out.instances = tumours;

  // ---- acquisition: partial volume (blur), correlated Gaussian noise.
  gaussian_blur(img, g, {0.6, 0.6, 0.4});
  Rng noise(options.seed, "ct-abdomen/noise");
  std::vector<float> n(size_t(g.count()));
  for (auto& v : n) v = float(noise.normal());
  const std::array<double, 3> noise_sigma{0.7, 0.7, 0.0};
  gaussian_blur(n, g, noise_sigma);
  const float gain = float(kNoiseHu / blur_noise_gain(noise_sigma));
  for (size_t i = 0; i < img.size(); ++i) img[i] += gain * n[i];
  return out;
}

}  // namespace voxseg::phantom::detail
