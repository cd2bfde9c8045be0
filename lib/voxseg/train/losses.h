#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

namespace voxseg::train {

/// Soft Dice (nnU-Net's memory-efficient form: batch Dice, background left out, smooth 1e-5) plus
/// cross-entropy, for logits [B,K,Z,Y,X] and an integer target [B,Z,Y,X]. Returns a scalar tensor
/// (differentiable). `ce_weight` and `dice_weight` scale the two terms.
at::Tensor dice_ce_loss(const at::Tensor& logits, const at::Tensor& target, double ce_weight = 1.0,
                        double dice_weight = 1.0);

/// Deep-supervision weights for n outputs (highest resolution first): 1/2^i, the lowest-resolution
/// output weighted 0 (as nnU-Net), normalised to sum 1. n == 1 -> {1}.
std::vector<double> deep_supervision_weights(int n);

/// Weighted sum of dice_ce_loss over deep-supervision outputs; the target is downsampled to each
/// output's size with nearest-neighbour sampling.
at::Tensor deep_supervision_loss(const std::vector<at::Tensor>& outputs, const at::Tensor& target);

/// nnU-Net's poly schedule: initial * (1 - epoch / max_epochs)^exponent.
double poly_lr(double initial, int64_t epoch, int64_t max_epochs, double exponent = 0.9);

/// Per-label Dice of two label maps (same shape) for labels 1..num_classes-1; NaN when a label is
/// absent from both.
std::vector<double> dice_per_label(const at::Tensor& prediction, const at::Tensor& reference, int64_t num_classes);

/// Three-class target for instance label maps (0 background, 1 interior, 2 boundary): a foreground
/// voxel is boundary when one of its 6 neighbours (inside the image) holds another id. Returns uint8.
at::Tensor instance_target(const at::Tensor& instances);

}  // namespace voxseg::train
