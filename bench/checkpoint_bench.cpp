// Loading a ~100 MB state dict with voxseg's .pth reader, against reading the same bytes.
// usage: checkpoint_bench [file.pth]   (without a file, one is written with /usr/bin/python3)
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "voxseg/checkpoint/pth_reader.h"

namespace {

double best_seconds(int runs, const std::function<void()>& f) {
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

long max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "";
  if (path.empty()) {
    const auto dir = std::filesystem::temp_directory_path() / "voxseg-checkpoint-bench";
    std::filesystem::create_directories(dir);
    path = (dir / "big.pth").string();
    if (!std::filesystem::exists(path)) {
      const std::string cmd = "/usr/bin/python3 -c \"import torch, collections; torch.manual_seed(0); "
                              "torch.save(collections.OrderedDict((f'layer{i}.weight', torch.randn(256, 1024)) "
                              "for i in range(100)), '" + path + "')\"";
      if (std::system(cmd.c_str()) != 0) {
        fmt::print(stderr, "cannot write {} (needs /usr/bin/python3 with torch)\n", path);
        return 1;
      }
    }
  }
  const auto size = std::filesystem::file_size(path);
  fmt::print("file: {} ({:.1f} MB)\n", path, size / 1e6);
  const long rss0 = max_rss_mb();
  size_t tensors = 0;
  double checksum = 0;
  const double t_load = best_seconds(5, [&] {
    const auto sd = voxseg::checkpoint::read_state_dict(path);
    tensors = sd.size();
    checksum = sd.front().second.sum().item<double>();
  });
  const long rss_load = max_rss_mb();  // measured before the comparison buffers exist

  std::vector<char> buffer(size), copy(size);
  const double t_read_warm = best_seconds(5, [&] {
    std::ifstream in(path, std::ios::binary);
    in.read(buffer.data(), std::streamsize(size));
  });
  // Into freshly allocated memory, as a loader must (page faults included).
  const double t_read = best_seconds(5, [&] {
    std::unique_ptr<char[]> fresh(new char[size]);
    std::ifstream in(path, std::ios::binary);
    in.read(fresh.get(), std::streamsize(size));
  });
  const double t_memcpy = best_seconds(5, [&] { std::memcpy(copy.data(), buffer.data(), size); });
  const double t_records = best_seconds(5, [&] {
    caffe2::serialize::PyTorchStreamReader reader(path);
    std::vector<at::DataPtr> kept;  // kept alive, as a loader must
    for (const auto& name : reader.getAllRecords()) kept.push_back(std::move(std::get<0>(reader.getRecord(name))));
  });
  fmt::print("read file into a reused buffer:   {:7.3f} s  {:6.2f} GB/s\n", t_read_warm, size / t_read_warm / 1e9);
  fmt::print("read file into fresh memory:      {:7.3f} s  {:6.2f} GB/s\n", t_read, size / t_read / 1e9);
  fmt::print("memcpy of the same bytes:         {:7.3f} s  {:6.2f} GB/s\n", t_memcpy, size / t_memcpy / 1e9);
  fmt::print("PyTorchStreamReader all records:  {:7.3f} s  {:6.2f} GB/s\n", t_records, size / t_records / 1e9);
  fmt::print("voxseg read_state_dict:           {:7.3f} s  {:6.2f} GB/s  ({} tensors, checksum {:.3f})\n", t_load,
             size / t_load / 1e9, tensors, checksum);
  fmt::print("ratio load / plain read: {:.2f}; load / records: {:.2f}\n", t_load / t_read, t_load / t_records);
  fmt::print("peak RSS: {} MB before loading, {} MB after loading (file {} MB)\n", rss0, rss_load, size >> 20);
  return 0;
}
