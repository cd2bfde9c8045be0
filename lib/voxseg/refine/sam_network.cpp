// PromptNetwork over models::SamModel (the SAM / MedSAM networks).
#include <torch/torch.h>

#include "voxseg/core/log.h"
#include "voxseg/models/sam.h"
#include "voxseg/refine/network.h"

namespace voxseg::refine {
namespace {

class SamNetwork : public PromptNetwork {
 public:
  explicit SamNetwork(models::SamModel model) : model_(std::move(model)) {}
  int64_t image_size() const override { return model_.config().image_size; }
  std::string identity() const override {
    return model_.checkpoint_sha256() + "/" + models::precision_name(model_.precision());
  }
  at::Tensor encode(const at::Tensor& images) override { return model_.encode(images); }
  Decoded decode(const at::Tensor& embeddings, const at::Tensor& image_index, const at::Tensor& points,
                 const at::Tensor& point_labels, const at::Tensor& box, bool multimask) override {
    models::SamModel::Prompts prompts;
    prompts.points = points;
    prompts.point_labels = point_labels;
    prompts.boxes = box;
    prompts.image_index = image_index;
    const auto d = model_.decode(embeddings, prompts, multimask);
    return {d.low_res_logits, d.iou};
  }

 private:
  models::SamModel model_;
};

}  // namespace

std::unique_ptr<PromptNetwork> load_sam_network(const std::filesystem::path& checkpoint, const std::string& device,
                                                const std::string& precision) {
  const models::Precision p = models::parse_precision(precision);
  const c10::Device d = models::resolve_device(device);
  models::check_precision(p, d);
  auto model = models::SamModel::load(checkpoint, d, p);
  const auto& c = model.config();
  log::info("SAM {} (embed {}, depth {}) from '{}' on {} ({})", c.variant, c.embed_dim, c.depth, checkpoint.string(),
            d.str(), models::precision_name(p));
  return std::make_unique<SamNetwork>(std::move(model));
}

}  // namespace voxseg::refine
