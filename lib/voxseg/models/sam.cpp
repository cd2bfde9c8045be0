// SamModel: loading (checkpoint formats, shape checks), encode and decode.
#include "voxseg/models/sam.h"

#include <torch/torch.h>

#include <unordered_map>
#include <unordered_set>

#include "voxseg/checkpoint/pth_reader.h"
#include "voxseg/core/error.h"
#include "voxseg/core/sha256.h"
#include "voxseg/models/detail/sam_impl.h"
#include "voxseg/models/detail/shape_text.h"

namespace voxseg::models {

namespace detail {

namespace {

c10::ScalarType compute_dtype_for(Precision precision) {
  switch (precision) {
    case Precision::BF16: return at::kBFloat16;
    case Precision::FP16: return at::kHalf;
    case Precision::FP32: break;
  }
  return at::kFloat;
}

}  // namespace

SamImpl::SamImpl(const SamConfig& c, const c10::Device& d, Precision p)
    : config(c),
      device(d),
      precision(p),
      compute_dtype(compute_dtype_for(p)),
      params(d, compute_dtype),
      image_encoder(params, config),
      prompt_encoder(params, config, config.mask_in_chans),
      mask_decoder(params, config) {}

void SamImpl::load_weights(const std::vector<std::pair<std::string, at::Tensor>>& weights, const std::string& source) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < params.entries().size(); ++i) index.emplace(params.entries()[i].name, i);
  std::vector<at::Tensor> bound(params.entries().size());
  for (const auto& [name, t] : weights) {
    // Sam's pixel_mean/pixel_std are non-persistent buffers; tolerate them if a converter kept them.
    if (name == "pixel_mean" || name == "pixel_std") continue;
    const auto it = index.find(name);
    if (it == index.end())
      fail(ExitCode::BadModel, "'{}': unexpected parameter '{}' (not part of this {} SAM architecture)", source, name,
           config.variant);
    const auto& e = params.entries()[it->second];
    if (t.sizes() != at::IntArrayRef(e.shape))
      fail(ExitCode::BadModel, "'{}': parameter '{}' has shape {} but the architecture expects {}", source, name,
           shape_text(t.sizes()), shape_text(e.shape));
    if (!t.is_floating_point())
      fail(ExitCode::BadModel, "'{}': parameter '{}' is not a floating-point tensor", source, name);
    bound[it->second] = t;
  }
  for (size_t i = 0; i < bound.size(); ++i) {
    if (!bound[i].defined())
      fail(ExitCode::BadModel, "'{}': missing parameter '{}' (shape {})", source, params.entries()[i].name,
           shape_text(params.entries()[i].shape));
  }
  params.bind(bound);
}

}  // namespace detail

SamModel::SamModel(std::unique_ptr<detail::SamImpl> impl) : impl_(std::move(impl)) {}
SamModel::SamModel(SamModel&&) noexcept = default;
SamModel& SamModel::operator=(SamModel&&) noexcept = default;
SamModel::~SamModel() = default;

SamModel SamModel::load(const std::filesystem::path& checkpoint, const c10::Device& device, Precision precision) {
  check_precision(precision, device);
  const std::string source = checkpoint.string();
  // "" finds MedSAM's {"model": ...} training checkpoints as well as a flat state dict.
  checkpoint::StateDict weights = checkpoint::read_state_dict(source, {});
  const bool all_module = std::all_of(weights.begin(), weights.end(),
                                      [](const auto& kv) { return kv.first.rfind("module.", 0) == 0; });
  if (all_module) {
    for (auto& kv : weights) kv.first.erase(0, 7);
  }
  const SamConfig config = detect_sam_config(weights, source);
  auto impl = std::make_unique<detail::SamImpl>(config, device, precision);
  {
    at::NoGradGuard no_grad;
    impl->load_weights(weights, source);
    impl->dense_pe = impl->prompt_encoder.dense_positional_encoding();  // the same for every decode
  }
  impl->sha256 = sha256_file(checkpoint, ExitCode::BadModel);
  return SamModel(std::move(impl));
}

const SamConfig& SamModel::config() const { return impl_->config; }
const std::string& SamModel::checkpoint_sha256() const { return impl_->sha256; }
Precision SamModel::precision() const { return impl_->precision; }
c10::Device SamModel::device() const { return impl_->device; }

at::Tensor SamModel::encode(const at::Tensor& images) const {
  const auto& c = impl_->config;
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != c.image_size || images.size(3) != c.image_size)
    fail(ExitCode::BadInput, "SAM encoder input must be [B, 3, {}, {}], got {}", c.image_size, c.image_size,
         detail::shape_text(images.sizes()));
  at::InferenceMode guard;
  const at::Tensor x = images.to(impl_->device, impl_->compute_dtype);
  return impl_->image_encoder(x).to(at::kCPU, at::kFloat).contiguous();
}

SamModel::Decoded SamModel::decode(const at::Tensor& embedding, const Prompts& prompts, bool multimask) const {
  const auto& c = impl_->config;
  const int64_t grid = c.image_size / c.patch_size;
  at::Tensor emb = embedding.dim() == 3 ? embedding.unsqueeze(0) : embedding;
  const auto& p = prompts;
  const int64_t images = p.image_index.defined() && emb.dim() == 4 ? emb.size(0) : 1;
  if (emb.dim() != 4 || emb.size(0) != images || emb.size(1) != c.out_chans || emb.size(2) != grid ||
      emb.size(3) != grid)
    fail(ExitCode::BadInput, "SAM decoder: image embedding must be [{}, {}, {}] (or with a leading 1; [B, ...] with "
         "image_index), got {}", c.out_chans, grid, grid, detail::shape_text(embedding.sizes()));
  int64_t n = -1;
  const auto take_n = [&](const at::Tensor& t, const char* what) {
    if (!t.defined()) return;
    if (n >= 0 && t.size(0) != n)
      fail(ExitCode::BadInput, "SAM decoder: {} has {} prompts, other inputs {}", what, t.size(0), n);
    n = t.size(0);
  };
  if (p.points.defined() != p.point_labels.defined())
    fail(ExitCode::BadInput, "SAM decoder: points and point_labels must be given together");
  if (p.points.defined()) {
    if (p.points.dim() != 3 || p.points.size(2) != 2)
      fail(ExitCode::BadInput, "SAM decoder: points must be [N, P, 2], got {}", detail::shape_text(p.points.sizes()));
    if (p.point_labels.dim() != 2 || p.point_labels.size(0) != p.points.size(0) ||
        p.point_labels.size(1) != p.points.size(1))
      fail(ExitCode::BadInput, "SAM decoder: point_labels must be [N, P] = [{}, {}], got {}", p.points.size(0),
           p.points.size(1), detail::shape_text(p.point_labels.sizes()));
  }
  if (p.boxes.defined() && (p.boxes.dim() != 2 || p.boxes.size(1) != 4))
    fail(ExitCode::BadInput, "SAM decoder: boxes must be [N, 4], got {}", detail::shape_text(p.boxes.sizes()));
  const int64_t low = grid * 4;
  if (p.mask_input.defined() && (p.mask_input.dim() != 4 || p.mask_input.size(1) != 1 ||
                                 p.mask_input.size(2) != low || p.mask_input.size(3) != low))
    fail(ExitCode::BadInput, "SAM decoder: mask_input must be [N, 1, {}, {}], got {}", low, low,
         detail::shape_text(p.mask_input.sizes()));
  take_n(p.points, "points");
  take_n(p.boxes, "boxes");
  take_n(p.mask_input, "mask_input");
  if (n < 0) fail(ExitCode::BadInput, "SAM decoder: no prompt (points, boxes or mask_input)");
  at::Tensor image_index;
  if (p.image_index.defined()) {
    if (p.image_index.dim() != 1 || p.image_index.size(0) != n || p.image_index.is_floating_point())
      fail(ExitCode::BadInput, "SAM decoder: image_index must be [{}] integers, got {}", n,
           detail::shape_text(p.image_index.sizes()));
    image_index = p.image_index.to(at::kCPU, at::kLong);
    if (n > 0 && (image_index.min().item<int64_t>() < 0 || image_index.max().item<int64_t>() >= images))
      fail(ExitCode::BadInput, "SAM decoder: image_index outside 0..{}", images - 1);
  }

  at::InferenceMode guard;
  const auto dev = impl_->device;
  const auto on = [&](const at::Tensor& t) { return t.defined() ? t.to(dev, at::kFloat) : t; };
  const auto [sparse, dense] =
      impl_->prompt_encoder(on(p.points), on(p.point_labels), on(p.boxes), on(p.mask_input), n);
  // Multimask: SAM's masks 1..3; otherwise mask 0 only. Only the chosen masks are upscaled.
  const auto [masks, iou] = impl_->mask_decoder(emb.to(dev, at::kFloat), impl_->dense_pe, sparse, dense,
                                                image_index.defined() ? image_index.to(dev) : image_index,
                                                multimask ? 1 : 0, multimask ? 3 : 1);
  return {masks.to(at::kCPU).contiguous(), iou.to(at::kCPU).contiguous()};
}

}  // namespace voxseg::models
