#include "voxseg/infer/case_inputs.h"

#include <torch/torch.h>

#include <map>
#include <regex>

#include "voxseg/core/error.h"
#include "voxseg/io/volume_io.h"

namespace voxseg::infer {

std::vector<ChannelCase> group_channel_files(const std::vector<io::CaseInput>& inputs, int64_t channels) {
  static const std::regex kChannel("^(.*)_([0-9]{4})$");
  std::vector<ChannelCase> out;
  std::map<std::string, size_t> index;
  std::map<std::string, std::map<int64_t, std::string>> files;
  for (const auto& in : inputs) {
    std::smatch m;
    const bool numbered = std::regex_match(in.name, m, kChannel);
    if (channels <= 1) {
      std::string name = in.name;
      if (numbered && m[2] == "0000") name = m[1];
      out.push_back({name, {in.path}, ""});
      continue;
    }
    if (!numbered) {
      out.push_back({in.name, {in.path}, ""});
      continue;
    }
    const std::string base = m[1];
    if (!index.count(base)) {
      index[base] = out.size();
      out.push_back({base, {}, ""});
    }
    files[base][std::stoll(m[2])] = in.path;
  }
  for (auto& [base, chans] : files) {
    ChannelCase& c = out[index[base]];
    for (int64_t k = 0; k < channels; ++k) {
      auto it = chans.find(k);
      if (it == chans.end()) {
        c.error = fmt::format("case '{}': channel file {}_{:04d} is missing (the model needs {} channels)", base, base,
                              k, channels);
        break;
      }
      c.paths.push_back(it->second);
    }
    if (c.error.empty() && int64_t(chans.size()) > channels)
      c.error = fmt::format("case '{}': {} channel files for a {}-channel model", base, chans.size(), channels);
  }
  return out;
}

Volume read_case(const ChannelCase& c, const io::ReadOptions& read) {
  if (!c.error.empty()) fail(ExitCode::BadInput, "{}", c.error);
  if (c.paths.size() == 1) return io::read_volume(c.paths.front(), read);
  std::vector<at::Tensor> data;
  Volume first;
  for (size_t k = 0; k < c.paths.size(); ++k) {
    Volume v = io::read_volume(c.paths[k], read);
    if (v.has_channels()) fail(ExitCode::BadInput, "'{}': a channel file must hold one channel", c.paths[k]);
    if (k == 0) {
      first.geometry = v.geometry;
    } else if (!same_geometry(first.geometry, v.geometry)) {
      fail(ExitCode::BadInput, "'{}': grid differs from '{}' ({})", c.paths[k], c.paths[0],
           describe_geometry_difference(v.geometry, first.geometry));
    }
    data.push_back(v.data.to(torch::kFloat));
  }
  first.data = torch::stack(data, 0);
  return first;
}

}  // namespace voxseg::infer
