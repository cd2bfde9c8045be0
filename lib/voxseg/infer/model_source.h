#pragma once
#include <string>

#include "voxseg/infer/predictor.h"
#include "voxseg/models/bundle.h"

namespace voxseg::infer {

/// The Model of a bundle whose network was already made (models::make_network): plan, window,
/// labels and post-processing defaults from model.json. Throws Error(BadModel) for an invalid
/// normalization entry.
Model model_from_bundle(const models::ModelBundle& bundle, std::shared_ptr<models::Network> network);

/// Loads a model for predict: a voxseg bundle folder (model.json). An nnU-Net v2 result folder is
/// reported with a hint (it is loaded by a separate loader that also returns an infer::Model).
/// Throws Error(BadModel), Error(NoDevice) (see models::load_bundle).
Model load_model(const std::string& path, const std::string& device, models::Precision precision);

}  // namespace voxseg::infer
