// Synthetic T1-weighted brain MR: scalp (skin, fat), skull (tables, diploe), subarachnoid CSF, folded
// cortex with sulci and an interhemispheric fissure, white matter, ventricles, deep grey nuclei,
// cerebellum, brainstem and lesions (hypointense, enhancing or ring-enhancing); then partial volume, a multiplicative
// bias field and Rician noise. Reference head in mm (LPS: +x left, +y posterior, +z superior), scaled uniformly to fit
// the field of view.
#include <cmath>

#include "voxseg/phantom/detail/generators.h"

namespace voxseg::phantom::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kRefX = 180.0, kRefY = 220.0, kRefZ = 190.0;

enum Label : int32_t { kBackground = 0, kCsf = 1, kGrey = 2, kWhite = 3, kLesion = 4 };
// T1w-like intensities (arbitrary scanner units).
constexpr double kSkin = 520, kScalpFat = 950, kBone = 110, kDiploe = 560, kCsfT1 = 260, kGreyT1 = 620, kWhiteT1 = 900,
                 kLesionT1 = 410;
// Lesion ranges: T1-hypointense, enhancing (hyperintense to white matter).
constexpr double kLesionT1Min = 320, kLesionT1Max = 500, kEnhancingT1Min = 1080, kEnhancingT1Max = 1250;
constexpr double kNoiseSigma = 18.0;

Blob blob(Rng& rng, std::array<double, 3> c, std::array<double, 3> a, std::array<double, 3> angles, double deform) {
  Blob b;
  for (int i = 0; i < 3; ++i) {
    b.centre[i] = c[i] + rng.uniform(-2.0, 2.0);
    b.axes[i] = a[i] * rng.uniform(0.9, 1.1);
  }
  b.rot = rotation(angles[0], angles[1], angles[2]);
  b.surface = SmoothField::random(rng, 4, 1.0, 3.0, deform);
  return b;
}

}  // namespace

RawPhantom generate_mr_brain(const PhantomOptions& options, const Grid& g) {
  Rng rng(options.seed, "mr-brain/anatomy");
  const double s = std::min({g.fov_x() / kRefX, g.fov_y() / kRefY, g.fov_z() / kRefZ});

  Blob head;
  head.centre = {0.0, 4.0, 0.0};
  head.axes = {74.0 * rng.uniform(0.94, 1.04), 93.0 * rng.uniform(0.94, 1.04), 84.0 * rng.uniform(0.94, 1.04)};
  head.surface = SmoothField::random(rng, 4, 1.0, 2.5, 0.04);
  const double skin_mm = 1.5, fat_mm = rng.uniform(2.5, 4.5), skull_mm = rng.uniform(5.5, 8.0), sas_mm = 2.0;
  const SmoothField skull_var = SmoothField::random(rng, 3, 1.0, 3.0, 1.5);  // mm
  const SmoothField gyri = SmoothField::random(rng, 16, 14.0, 22.0, 1.6);    // on the unit direction
  const SmoothField sulcus_depth = SmoothField::random(rng, 4, 2.0, 5.0, 5.0);
  const SmoothField cortex_var = SmoothField::random(rng, 4, 3.0, 6.0, 0.6);
  const SmoothField texture = SmoothField::random(rng, 5, 2 * kPi / 30.0, 2 * kPi / 8.0, 1.0);
  const double fissure_shift = rng.uniform(-2.0, 2.0);

  RawPhantom out;
  out.image.assign(size_t(g.count()), 0.0f);
  out.labels.assign(size_t(g.count()), kBackground);
  std::vector<uint8_t> brain(size_t(g.count()), 0);
  auto& img = out.image;
  auto& lab = out.labels;

  for (int64_t k = 0; k < g.nz; ++k)
    for (int64_t j = 0; j < g.ny; ++j)
      for (int64_t i = 0; i < g.nx; ++i) {
        const double x = g.px(i) / s, y = g.py(j) / s, z = g.pz(k) / s;
        const double l = head.level(x, y, z);
        if (l >= 1.0) continue;
        const int64_t idx = g.index(i, j, k);
        const double qx = x - head.centre[0], qy = y - head.centre[1], qz = z - head.centre[2];
        const double r = std::max(1e-6, std::sqrt(qx * qx + qy * qy + qz * qz));
        const double depth = r / std::max(l, 1e-6) - r;  // mm below the skin along the ray
        const double ux = qx / r, uy = qy / r, uz = qz / r;
        const double skull_out = skin_mm + fat_mm;
        const double skull_in = skull_out + skull_mm + skull_var(ux, uy, uz);
        float v;
        int32_t label = kBackground;
        if (depth < skin_mm) {
          v = kSkin;
        } else if (depth < skull_out) {
          v = kScalpFat;
        } else if (depth < skull_in) {
          const double t = (depth - skull_out) / (skull_in - skull_out);
          v = (t < 0.25 || t > 0.75) ? kBone : kDiploe;
        } else if (depth < skull_in + sas_mm) {
          v = kCsfT1;
          label = kCsf;
        } else {
          const double d = depth - skull_in - sas_mm;  // mm below the pial surface
          brain[size_t(idx)] = 1;
          // Distance (mm) to the zero set of the gyral field on the sphere: sulci run along it.
          double grad[3];
          const double gv = gyri.eval_with_gradient(ux, uy, uz, grad);
          const double radial = grad[0] * ux + grad[1] * uy + grad[2] * uz;  // keep the tangential part
          const double tangential = std::sqrt(std::max(
              1e-12, grad[0] * grad[0] + grad[1] * grad[1] + grad[2] * grad[2] - radial * radial));
          const double sulcus_mm = std::fabs(gv) / tangential * r;
          const double sdepth = 16.0 + sulcus_depth(ux, uy, uz);
          const double cortex = 3.4 + cortex_var(ux, uy, uz);
          // The fissure splits the hemispheres except around the corpus callosum and deep nuclei.
          const double cc = (y / 46.0) * (y / 46.0) + ((z + 6.0) / 20.0) * ((z + 6.0) / 20.0);
          const bool fissure_zone = cc > 1.0;
          const double fx = std::fabs(x - fissure_shift);
          if ((sulcus_mm < 0.7 && d < sdepth) || (fissure_zone && fx < 1.0)) {
            label = kCsf;
          } else if (d < cortex || (sulcus_mm < 0.7 + cortex && d < sdepth + cortex) ||
                     (fissure_zone && fx < 1.0 + cortex)) {
            label = kGrey;
          } else {
            label = kWhite;
          }
          v = label == kCsf ? kCsfT1 : label == kGrey ? kGreyT1 : kWhiteT1;
        }
        img[size_t(idx)] = v;
        lab[size_t(idx)] = label;
      }

  // Deep structures, painted into the brain in boxes around each blob.
  auto paint = [&](const Blob& b, auto&& fn) {
    const double rb = b.bound();
    std::array<double, 3> lo, hi;
    for (int a = 0; a < 3; ++a) {
      lo[a] = (b.centre[a] - rb) * s;
      hi[a] = (b.centre[a] + rb) * s;
    }
    for_each_in_box(g, lo, hi, [&](int64_t idx, double x, double y, double z) {
      if (!brain[size_t(idx)]) return;
      const double l = b.level(x / s, y / s, z / s);
      if (l < 1.0) fn(idx, l, x / s, y / s, z / s);
    });
  };
  auto set = [&](int64_t idx, int32_t label) {
    lab[size_t(idx)] = label;
    img[size_t(idx)] = float(label == kCsf ? kCsfT1 : label == kGrey ? kGreyT1 : label == kWhite ? kWhiteT1 : kLesionT1);
  };

  // Cerebellum: grey folia around a white core; brainstem: white column.
  const Blob cerebellum = blob(rng, {0, 52, -48}, {48, 30, 22}, {0, 0, -0.2}, 0.05);
  const double folia_phase = rng.uniform(0, 2 * kPi);
  paint(cerebellum, [&](int64_t idx, double l, double x, double, double) {
    const double f = std::sin(2 * kPi * 7.0 * l + 0.8 * std::sin(x / 6.0) + folia_phase);
    set(idx, l < 0.45 ? kWhite : (f > 0.85 && l > 0.6 ? kCsf : kGrey));
  });
  const Blob stem = blob(rng, {0, 22, -55}, {11, 12, 35}, {0, 0, 0.25}, 0.03);
  paint(stem, [&](int64_t idx, double, double, double, double) { set(idx, kWhite); });
  // Deep grey nuclei (thalami, lentiform nuclei), then ventricles.
  for (const double side : {-1.0, 1.0}) {
    paint(blob(rng, {side * 11, 8, -2}, {9, 15, 9}, {0, 0, 0}, 0.06),
          [&](int64_t idx, double, double, double, double) { set(idx, kGrey); });
    paint(blob(rng, {side * 24, -10, 0}, {7, 17, 12}, {side * 0.2, 0, 0}, 0.06),
          [&](int64_t idx, double, double, double, double) { set(idx, kGrey); });
  }
  const double vent_scale = rng.uniform(0.8, 1.3);  // ventricle size varies a lot between people
  for (const double side : {-1.0, 1.0}) {
    paint(blob(rng, {side * 11, -4, 14}, {6 * vent_scale, 34, 8 * vent_scale}, {side * 0.12, 0, -0.15}, 0.12),
          [&](int64_t idx, double, double, double, double) { set(idx, kCsf); });
  }
  paint(blob(rng, {0, 0, -6}, {2.0, 14, 9}, {0, 0, 0}, 0.05),
        [&](int64_t idx, double, double, double, double) { set(idx, kCsf); });

  // Lesions come from their own stream (docs/phantom.md, "Tumours and lesions"): anywhere in the
  // cerebral white matter (deep, periventricular, juxtacortical), painted over white matter only.
  Rng lrng(options.seed, "mr-brain/lesions");
  const int drawn = lesion_count(lrng);  // always drawn, so --objects N equal to it remakes the case
  const int lesions = options.objects >= 0 ? options.objects : drawn;
  auto white_at = [&](double x, double y, double z) {  // reference mm -> nearest voxel is white matter
    const int64_t i = std::llround((x * s - g.ox) / g.sx), j = std::llround((y * s - g.oy) / g.sy),
                  k = std::llround((z * s - g.oz) / g.sz);
    if (i < 0 || j < 0 || k < 0 || i >= g.nx || j >= g.ny || k >= g.nz) return false;
    return lab[size_t(g.index(i, j, k))] == kWhite;
  };
  std::vector<std::array<double, 4>> placed;  // centre (reference mm) and radius
  for (int n = 0; n < lesions; ++n) {
    // Volume log-uniform in 0.1..10 ml at the reference field of view.
    const double volume_ml = 0.1 * std::exp(lrng.uniform(0.0, std::log(100.0)));
    const double radius = std::cbrt(volume_ml * 1000.0 * 3.0 / (4.0 * kPi));
    const double side = lrng.uniform() < 0.5 ? -1.0 : 1.0;
    std::array<double, 3> c{side * 25.0, 0.0, 20.0};  // periventricular fallback
    for (int attempt = 0; attempt < 300; ++attempt) {
      const std::array<double, 3> t{side * lrng.uniform(8, 60), lrng.uniform(-70, 60), lrng.uniform(-15, 55)};
      bool ok = white_at(t[0], t[1], t[2]);
      for (const auto& q : placed) ok = ok && std::hypot(t[0] - q[0], t[1] - q[1], t[2] - q[2]) > radius + q[3] + 2.0;
      if (ok) {
        c = t;
        break;
      }
    }
    placed.push_back({c[0], c[1], c[2], radius});
    Blob lesion;
    lesion.centre = c;
    lesion.axes = {radius * lrng.uniform(0.8, 1.2), radius * lrng.uniform(0.8, 1.4), radius * lrng.uniform(0.8, 1.2)};
    lesion.rot = rotation(lrng.uniform(0, kPi), lrng.uniform(-0.4, 0.4), 0);
    lesion.surface = SmoothField::random(lrng, 4, 1.0, 3.0, 0.2);
    // T1 appearance: hypointense (demyelination, "black holes"), enhancing (hyperintense after
    // contrast), or a hypointense core with an enhancing ring (metastasis, abscess).
    const double kind = lrng.uniform();
    const double core = kind < 0.6   ? lrng.uniform(kLesionT1Min, kLesionT1Max)
                        : kind < 0.8 ? lrng.uniform(kEnhancingT1Min, kEnhancingT1Max)
                                     : lrng.uniform(kLesionT1Min - 100.0, kLesionT1Max - 100.0);
    const double ring = kind >= 0.8 ? lrng.uniform(kEnhancingT1Min, kEnhancingT1Max) : core;
    paint(lesion, [&](int64_t idx, double l, double, double, double) {
      if (lab[size_t(idx)] != kWhite && lab[size_t(idx)] != kLesion) return;
      lab[size_t(idx)] = kLesion;
      img[size_t(idx)] = float(l > 0.7 ? ring : core);
    });
  }
  out.instances = lesions;

  // Tissue texture (2 %), partial volume, bias field, Rician noise.
  for (int64_t k = 0; k < g.nz; ++k)
    for (int64_t j = 0; j < g.ny; ++j)
      for (int64_t i = 0; i < g.nx; ++i) {
        const int64_t idx = g.index(i, j, k);
        if (img[size_t(idx)] != 0.0f)
          img[size_t(idx)] *= float(1.0 + 0.02 * texture(g.px(i) / s, g.py(j) / s, g.pz(k) / s));
      }
  gaussian_blur(img, g, {0.5, 0.5, 0.5});
  const SmoothField bias = SmoothField::random(rng, 3, 2 * kPi / 400.0, 2 * kPi / 220.0, 0.2);
  Rng noise(options.seed, "mr-brain/noise");
  for (int64_t k = 0; k < g.nz; ++k)
    for (int64_t j = 0; j < g.ny; ++j)
      for (int64_t i = 0; i < g.nx; ++i) {
        const int64_t idx = g.index(i, j, k);
        const double signal = img[size_t(idx)] * std::exp(bias(g.px(i) / s, g.py(j) / s, g.pz(k) / s));
        const double re = signal + kNoiseSigma * noise.normal(), im = kNoiseSigma * noise.normal();
        img[size_t(idx)] = float(std::sqrt(re * re + im * im));
      }
  return out;
}

}  // namespace voxseg::phantom::detail
