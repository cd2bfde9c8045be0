#include "voxseg/checkpoint/pth_reader.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "fixtures.h"
#include "voxseg/core/error.h"
#include "voxseg/core/json.h"

namespace voxseg::checkpoint {
namespace {

using testing::read_bytes;
using K = Value::Kind;

at::ScalarType dtype_named(const std::string& name) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"float32", at::kFloat}, {"float16", at::kHalf},  {"bfloat16", at::kBFloat16}, {"float64", at::kDouble},
      {"int64", at::kLong},    {"int32", at::kInt},     {"int16", at::kShort},       {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool}};
  auto it = kTypes.find(name);
  EXPECT_NE(it, kTypes.end()) << "dtype " << name;
  return it == kTypes.end() ? at::kFloat : it->second;
}

// Compares a value read by voxseg with python's JSON description of the same object
// (make_fixtures.py describe()), including every tensor's dtype, shape, strides, offset and bytes.
void expect_same(const Value& v, const Json& j, const std::string& fixture, const std::string& path) {
  SCOPED_TRACE(path);
  if (j.is_null()) { EXPECT_TRUE(v.is_none()) << v.type_name(); return; }
  if (j.is_bool()) {
    ASSERT_TRUE(v.is(K::Bool)) << v.type_name();
    { EXPECT_EQ(v.as_bool(), j.as_bool()); return; }
  }
  if (j.is_number()) {
    ASSERT_TRUE(v.is(K::Float)) << v.type_name();
    { EXPECT_EQ(v.as_double(), j.as_double()); return; }
  }
  if (j.is_string()) {
    ASSERT_TRUE(v.is(K::String)) << v.type_name();
    { EXPECT_EQ(v.as_string(), j.as_string()); return; }
  }
  if (j.is_array()) {
    ASSERT_TRUE(v.is_sequence()) << v.type_name();
    ASSERT_EQ(v.items().size(), j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      expect_same(*v.items()[i], j.as_array()[i], fixture, path + "[" + std::to_string(i) + "]");
    }
    return;
  }
  if (const Json* i = j.find("int")) {
    ASSERT_TRUE(v.is(K::Int)) << v.type_name();
    { EXPECT_EQ(std::to_string(v.as_int()), i->as_string()); return; }
  }
  if (const Json* b = j.find("bytes")) {
    ASSERT_TRUE(v.is(K::Bytes)) << v.type_name();
    std::string hex;
    for (unsigned char c : v.as_bytes()) hex += fmt::format("{:02x}", c);
    { EXPECT_EQ(hex, b->as_string()); return; }
  }
  if (const Json* d = j.find("dict")) {
    ASSERT_TRUE(v.is(K::Dict)) << v.type_name();
    EXPECT_EQ(v.is_ordered_dict(), j.find("ordered")->as_bool());
    ASSERT_EQ(v.entries().size(), d->size());
    for (size_t i = 0; i < d->size(); ++i) {
      const auto& pair = d->as_array()[i].as_array();
      expect_same(*v.entries()[i].first, pair[0], fixture, path + ".key" + std::to_string(i));
      expect_same(*v.entries()[i].second, pair[1], fixture, path + "/" + v.entries()[i].first->repr(40));
    }
    return;
  }
  if (const Json* t = j.find("tensor")) {
    ASSERT_TRUE(v.is(K::Tensor)) << v.type_name();
    const at::Tensor& x = v.as_tensor();
    EXPECT_EQ(x.scalar_type(), dtype_named(j.find("dtype")->as_string()));
    std::vector<int64_t> shape, stride;
    for (const auto& s : j.find("shape")->as_array()) shape.push_back(s.as_int());
    for (const auto& s : j.find("stride")->as_array()) stride.push_back(s.as_int());
    ASSERT_EQ(x.sizes().vec(), shape);
    EXPECT_EQ(x.strides().vec(), stride);
    EXPECT_EQ(x.storage_offset(), j.find("offset")->as_int());
    const std::string expected = read_bytes(fixture + "." + std::to_string(t->as_int()) + ".bin");
    const at::Tensor c = x.contiguous();
    ASSERT_EQ(size_t(c.nbytes()), expected.size());
    EXPECT_EQ(std::memcmp(c.data_ptr(), expected.data(), expected.size()), 0) << "tensor bytes differ";
    return;
  }
  if (const Json* o = j.find("object")) {
    ASSERT_TRUE(v.is(K::Object)) << v.type_name();
    { EXPECT_EQ(v.class_name(), o->as_string()); return; }
  }
  FAIL() << "unexpected description " << j.dump();
}

void expect_matches_python(const std::string& dir, const std::string& name) {
  const ValuePtr v = read_pth(dir + "/" + name + ".pth");
  const Json expected = read_json_file(dir + "/" + name + ".json", ExitCode::Internal);
  expect_same(*v, expected, dir + "/" + name, name);
}

TEST(ReadPth, ModuleStateDictMatchesPython) {
  VOXSEG_REQUIRE_FIXTURES();
  expect_matches_python(fixtures, "state_dict");
  // model.state_dict() carries OrderedDict._metadata, set through BUILD.
  const ValuePtr v = read_pth(fixtures + "/state_dict.pth");
  ASSERT_TRUE(v->state());
  EXPECT_TRUE(v->state()->find("_metadata"));
}

TEST(ReadPth, EveryDtypeMatchesPython) {
  VOXSEG_REQUIRE_FIXTURES();
  expect_matches_python(fixtures, "dtypes");
}

TEST(ReadPth, NestedPythonValuesMatchWithProtocols2And4) {
  VOXSEG_REQUIRE_FIXTURES();
  expect_matches_python(fixtures, "nested");
  expect_matches_python(fixtures, "nested_p4");
}

TEST(ReadPth, FakeNnunetCheckpointMatchesPython) {
  VOXSEG_REQUIRE_FIXTURES();
  expect_matches_python(fixtures, "nnunet");
  const ValuePtr v = read_pth(fixtures + "/nnunet.pth");
  const auto& axes = v->at("inference_allowed_mirroring_axes");
  ASSERT_TRUE(axes.is(K::Tuple));
  EXPECT_EQ(axes.items().size(), 3u);
  EXPECT_EQ(v->at("trainer_name").as_string(), "nnUNetTrainer");
  EXPECT_EQ(v->at("init_args").at("device").class_name(), "torch.device");
}

TEST(ReadPth, ViewsShareOneStorage) {
  VOXSEG_REQUIRE_FIXTURES();
  expect_matches_python(fixtures, "views");
  const ValuePtr v = read_pth(fixtures + "/views.pth");
  at::Tensor base = v->at("base").as_tensor();
  const at::Tensor transposed = v->at("transposed").as_tensor();
  const at::Tensor sliced = v->at("sliced").as_tensor();
  EXPECT_FALSE(transposed.is_contiguous());
  EXPECT_TRUE(base.storage().is_alias_of(transposed.storage()));
  EXPECT_TRUE(base.storage().is_alias_of(sliced.storage()));
  EXPECT_EQ(&v->at("base"), &v->at("again"));  // the same object twice is one node
  // Writing through one view is seen by the others, as in torch.load.
  base.index_put_({1, 0}, -100.0f);
  EXPECT_EQ(transposed[0][1].item<float>(), -100.0f);
  EXPECT_EQ(sliced[0][0].item<float>(), -100.0f);
}

TEST(ReadPth, FindsStateDictsWhereModelsKeepThem) {
  VOXSEG_REQUIRE_FIXTURES();
  const StateDict nnunet = read_state_dict(fixtures + "/nnunet.pth");  // auto: network_weights
  ASSERT_EQ(nnunet.size(), 11u);
  EXPECT_EQ(nnunet.front().first, "conv.weight");
  EXPECT_EQ(nnunet.back().first, "head.bias");
  const StateDict top = read_state_dict(fixtures + "/state_dict.pth");  // SAM-like: top level
  ASSERT_EQ(top.size(), nnunet.size());
  for (size_t i = 0; i < top.size(); ++i) EXPECT_EQ(top[i].first, nnunet[i].first);

  const StateDict medsam = read_state_dict(fixtures + "/medsam.pth", {"model", false});
  EXPECT_EQ(medsam.front().first, "module.conv.weight");
  const StateDict stripped = read_state_dict(fixtures + "/medsam.pth", {"model", true});
  EXPECT_EQ(stripped.front().first, "conv.weight");
  EXPECT_TRUE(stripped.front().second.equal(medsam.front().second));

  try {
    read_state_dict(fixtures + "/nnunet.pth", {"no_such_key", false});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::BadModel);
    EXPECT_NE(std::string(e.what()).find("no_such_key"), std::string::npos) << e.what();
  }
}

void expect_bad_model(const std::string& path, const std::string& fragment) {
  try {
    read_pth(path);
    FAIL() << "expected Error(BadModel) for " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::BadModel) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "message names the file: " << e.what();
  }
}

TEST(ReadPth, NamesWhatAnUnreadableFileIs) {
  VOXSEG_REQUIRE_FIXTURES();
  expect_bad_model(fixtures + "/legacy.pth", "legacy (pre-1.6) torch.save file");
  expect_bad_model(fixtures + "/legacy.pth", "_use_new_zipfile_serialization=True");
  expect_bad_model(fixtures + "/text.pth", "not a PyTorch checkpoint (zip) file");
  expect_bad_model(fixtures + "/plain.pkl", "plain pickle");
  expect_bad_model(fixtures + "/empty.pth", "empty file");
  expect_bad_model(fixtures + "/scripted.pt", "TorchScript");
  expect_bad_model(fixtures + "/missing.pth", "no such file");
  expect_bad_model(fixtures, "directory");
}

}  // namespace
}  // namespace voxseg::checkpoint
