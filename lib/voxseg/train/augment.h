#pragma once
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace voxseg::train {

/// One preprocessed case in memory: image [C,Z,Y,X] float32 (normalized, at target spacing), label
/// [Z,Y,X] uint8 class ids, and sampled voxel positions of each foreground class.
struct CaseArrays {
  at::Tensor image;
  at::Tensor label;
  std::vector<at::Tensor> fg_locations;  ///< index c-1 for class c: int64 [N,3] (z,y,x); N may be 0
  std::vector<int64_t> class_voxels;     ///< index c-1: voxels of class c in the case (before subsampling)
  /// index c-1, then one entry per connected component of class c: the rows of fg_locations[c-1] in it
  /// (empty when not computed; only ClassSampling::Lesion uses them).
  std::vector<std::vector<std::vector<int64_t>>> fg_components;
};

/// Up to `max_per_class` voxel positions (int64 [N,3], z,y,x) per foreground class 1..num_classes-1,
/// a seeded random subset when there are more. `class_voxels`, if given, receives each class's full
/// voxel count.
std::vector<at::Tensor> foreground_locations(const at::Tensor& label, int64_t num_classes, int64_t max_per_class,
                                             uint64_t seed, std::vector<int64_t>* class_voxels = nullptr);

/// Groups the rows of each class's `fg_locations` by the 26-connected component of `label` they lie
/// in (the CaseArrays::fg_components layout), components in raster order of their first voxel.
std::vector<std::vector<std::vector<int64_t>>> foreground_components(const at::Tensor& label,
                                                                     const std::vector<at::Tensor>& fg_locations);

/// Which class a foreground-forced patch is centred on (docs/training.md, "Sampling"): Uniform picks
/// one of the classes present in the case with equal probability (nnU-Net); Rare weights each present
/// class by 1/sqrt(its voxel count in the case), so small classes (tumours, lesions) are chosen more
/// often than large ones (organs). Lesion picks the class as Rare does, then one of that class's
/// connected components with equal probability, then a voxel of it, so a 0.5 ml tumour is a patch
/// centre as often as a 50 ml one in the same case (Rare and Uniform pick a voxel of the class).
enum class ClassSampling { Uniform, Rare, Lesion };
/// "uniform" | "rare" | "lesion"; the inverse throws std::invalid_argument naming the choices.
std::string class_sampling_name(ClassSampling s);
ClassSampling parse_class_sampling(const std::string& name);

/// Probability of each foreground class (index c-1) being the centre class of a forced patch: zero
/// for classes absent from the case; all zero when the case has no foreground.
std::vector<double> centre_class_probabilities(const CaseArrays& c, ClassSampling sampling);

/// Augmentations and their probabilities (nnU-Net's defaults; docs/training.md). All draws come
/// from a seed per sample, so a batch depends only on (run seed, step, sample index).
struct AugmentOptions {
  bool enabled = true;
  double p_rotation = 0.2, max_rotation_deg = 30;  ///< per axis; anisotropic data: in-plane only, +-180
  double p_scale = 0.2, scale_min = 0.7, scale_max = 1.4;
  double p_elastic = 0.0, elastic_alpha_vox = 4.0, elastic_grid = 6;  ///< optional; displacement amplitude
  double p_mirror = 0.5;                      ///< per axis in mirror_axes
  std::vector<int> mirror_axes{0, 1, 2};
  double p_noise = 0.1, noise_variance_max = 0.1;
  double p_blur = 0.2, blur_sigma_min = 0.5, blur_sigma_max = 1.0;
  double p_brightness = 0.15, brightness_min = 0.75, brightness_max = 1.25;
  double p_contrast = 0.15, contrast_min = 0.75, contrast_max = 1.25;
  double p_lowres = 0.25, lowres_min = 0.5;
  double p_gamma = 0.3, p_gamma_inverted = 0.1, gamma_min = 0.7, gamma_max = 1.5;
  std::array<double, 3> spacing_mm{1, 1, 1};  ///< target spacing (z,y,x): rotations happen in mm
  int lowres_axis = -1;                       ///< anisotropic data: rotate and blur in-plane only
  double p_force_foreground = 1.0 / 3.0;      ///< share of patches centred on a foreground voxel
  ClassSampling class_sampling = ClassSampling::Uniform;  ///< how such a patch picks its class
};

/// A training patch: image [C,pz,py,px] float32 and label [pz,py,px] int64.
struct Sample {
  at::Tensor image;
  at::Tensor label;
  bool forced_foreground = false;
};

/// Centre (z,y,x voxel index) of a patch: with force_foreground and any foreground, a random voxel of
/// a present class drawn by centre_class_probabilities; otherwise uniform such that the patch lies
/// inside the image where it fits.
std::array<double, 3> choose_centre(const CaseArrays& c, const std::array<int64_t, 3>& patch, bool force_foreground,
                                    uint64_t seed, ClassSampling sampling = ClassSampling::Uniform);

/// Samples a patch around `centre` through a spatial transform (3x3 matrix in voxel units, z,y,x,
/// mapping patch offsets to image offsets; identity = plain crop), zero padding outside the image.
Sample extract_patch(const CaseArrays& c, const std::array<int64_t, 3>& patch, const std::array<double, 3>& centre,
                     const std::array<double, 9>& matrix, const at::Tensor& displacement = {});

/// A full training sample: centre, spatial and intensity augmentation, mirroring; deterministic in seed.
Sample make_sample(const CaseArrays& c, const std::array<int64_t, 3>& patch, const AugmentOptions& options,
                   uint64_t seed);

/// Stacks samples into a batch: image [B,C,Z,Y,X], label [B,Z,Y,X].
std::pair<at::Tensor, at::Tensor> collate(const std::vector<Sample>& samples);

/// SplitMix64 hash, used to derive independent seeds (seed, step, index).
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace voxseg::train
