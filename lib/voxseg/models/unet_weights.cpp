// Weight I/O of the native U-Net: read_weights (LibTorch archives and torch.save files) and
// write_weights. load_state_dict and the nnU-Net naming (state_dict) stay in unet.cpp.
#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "voxseg/checkpoint/pth_reader.h"
#include "voxseg/core/atomic_file.h"
#include "voxseg/core/error.h"
#include "voxseg/models/unet.h"

namespace voxseg::models {

namespace {

[[noreturn]] void rethrow_torch(const c10::Error& e, ExitCode code, const std::string& what) {
  std::string msg = e.what_without_backtrace();
  if (const auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  fail(code, "{}: {}", what, msg);
}

bool is_zip(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

StateDict read_pickled_dict(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const c10::IValue value = torch::pickle_load(bytes);
  if (!value.isGenericDict())
    fail(ExitCode::BadModel, "cannot read weights '{}': expected a dict of tensors, found {}", path.string(),
         value.tagKind());
  StateDict out;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      fail(ExitCode::BadModel, "cannot read weights '{}': expected a dict of name -> tensor", path.string());
    out.emplace_back(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

}  // namespace

StateDict read_weights(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(ExitCode::BadModel, "cannot read weights '{}': no such file", path.string());
  if (!is_zip(path))
    fail(ExitCode::BadModel,
         "cannot read weights '{}': not a LibTorch archive or torch.save file (no zip header; legacy "
         "non-zip torch.save files are not supported)",
         path.string());
  try {
    torch::jit::Module archive = torch::jit::load(path.string(), torch::kCPU);
    StateDict out;
    for (const auto& p : archive.named_parameters(true)) out.emplace_back(p.name, p.value);
    for (const auto& b : archive.named_buffers(true)) out.emplace_back(b.name, b.value);
    return out;
  } catch (const c10::Error&) {
    // Not a LibTorch archive: try the torch.save formats below.
  }
  // A torch.save file: nnU-Net checkpoint ({"network_weights": OrderedDict}), a bare state_dict()
  // (OrderedDict) or a plain dict; the checkpoint module reads all of them.
  try {
    return checkpoint::read_state_dict(path.string());
  } catch (const Error& checkpoint_error) {
    try {
      return read_pickled_dict(path);
    } catch (const std::exception&) {
    }
    fail(ExitCode::BadModel, "cannot read weights '{}': neither a LibTorch archive nor a torch.save state dict ({})",
         path.string(), checkpoint_error.what());
  }
}

void write_weights(const UNet& net, const std::filesystem::path& path, bool overwrite) {
  AtomicFile file(path, overwrite);
  try {
    torch::serialize::OutputArchive archive;
    net.module()->save(archive);
    // Serialized through a writer, not to the temporary's path: a path names the zip's records
    // after the file (".weights.partial-<pid>/..."), so two runs with equal weights wrote different
    // bytes. Through a writer the records are always "archive/...".
    std::string bytes;
    archive.save_to([&bytes](const void* data, size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) fail(ExitCode::CannotWrite, "cannot write weights '{}': write failed", path.string());
  } catch (const c10::Error& e) {
    rethrow_torch(e, ExitCode::CannotWrite, fmt::format("cannot write weights '{}'", path.string()));
  }
  file.commit();
}

}  // namespace voxseg::models
