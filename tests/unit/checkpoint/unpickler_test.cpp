#include "voxseg/checkpoint/detail/unpickler.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "voxseg/core/error.h"

namespace voxseg::checkpoint::detail {
namespace {

using K = Value::Kind;
using namespace std::string_literals;

// A persistent loader that hands out one float storage of `numel` elements 0, 1, 2, ...
PersistentLoad storage_of(int64_t numel) {
  return [numel](const Value&) { return Value::storage(at::arange(numel, at::kFloat)); };
}

std::string unpickle_error(const std::string& program, const PersistentLoad& load = {},
                           const UnpicklerLimits& limits = {}) {
  try {
    unpickle(program, load, limits);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::BadModel);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Unpickle, RejectsCyclicReferences) {
  // l = []; l.append(l)
  EXPECT_NE(unpickle_error("\x80\x02]q\x00h\x00" "a."s).find("cyclic"), std::string::npos);
  // d = {}; d['a'] = [d]
  EXPECT_NE(unpickle_error("}q\x00(X\x01\x00\x00\x00" "a]q\x01h\x00" "au."s).find("cyclic"), std::string::npos);
  // o = Foo(); o.__dict__ = {'self': o}
  EXPECT_NE(unpickle_error("c__main__\nFoo\n)\x81q\x00}X\x04\x00\x00\x00selfh\x00sb."s).find("cyclic"),
            std::string::npos);
}

TEST(Unpickle, RejectsMissingMemoAndBrokenPrograms) {
  EXPECT_NE(unpickle_error("h\x05."s).find("memo reference 5 is missing"), std::string::npos);
  EXPECT_NE(unpickle_error("j\x00\x00\x00\x10."s).find("missing"), std::string::npos);
  EXPECT_NE(unpickle_error("X\xff\xff\xff\x7f" "abc."s).find("exceeds"), std::string::npos);
  EXPECT_NE(unpickle_error("\x8d\xff\xff\xff\xff\xff\xff\xff\xff."s).find("exceeds"), std::string::npos);
  EXPECT_NE(unpickle_error("\x8b\xff\xff\xff\x0f."s).find("exceeds"), std::string::npos);
  EXPECT_NE(unpickle_error("\xff."s).find("opcode 0xff"), std::string::npos);
  EXPECT_NE(unpickle_error("a."s).find("underflow"), std::string::npos);
  EXPECT_NE(unpickle_error("."s).find("empty stack"), std::string::npos);
  EXPECT_NE(unpickle_error("t."s).find("MARK"), std::string::npos);
  EXPECT_NE(unpickle_error("N"s).find("truncated"), std::string::npos);
  EXPECT_NE(unpickle_error("K\x01K\x02R."s).find("cannot call"), std::string::npos);
  EXPECT_NE(unpickle_error("(K\x01K\x02" "0u."s).find("stack underflow"), std::string::npos);  // POP below MARK
}

TEST(Unpickle, CapsNestingDepthAndObjectCount) {
  EXPECT_NE(unpickle_error(repeat("]", 600) + repeat("a", 599) + ".").find("nested deeper"), std::string::npos);
  EXPECT_NE(unpickle_error("N" + repeat("\x85", 100000) + ".").find("nested deeper"), std::string::npos);
  // Unreachable garbage is checked too (its destruction would recurse as deep).
  EXPECT_NE(unpickle_error("N" + repeat("\x85", 100000) + "0N.").find("nested deeper"), std::string::npos);
  EXPECT_NO_THROW(unpickle(repeat("]", 300) + repeat("a", 299) + ".", {}));
  UnpicklerLimits small;
  small.max_values = 50;
  EXPECT_NE(unpickle_error("(" + repeat("N", 100) + "l.", {}, small).find("more than 50"), std::string::npos);
  // References count too: one list fetched from the memo over and over.
  EXPECT_NE(unpickle_error("]q\x00"s + repeat("h\x00" "0"s, 300) + ".", {}, small).find("more than 200 stack pushes"),
            std::string::npos);
}

TEST(Unpickle, DictKeysReplaceLikePython) {
  ValuePtr d = unpickle("}(X\x01\x00\x00\x00" "aK\x01X\x01\x00\x00\x00" "bK\x02X\x01\x00\x00\x00" "aK\x03u."s, {});
  ASSERT_EQ(d->entries().size(), 2u);
  EXPECT_EQ(d->entries()[0].first->as_string(), "a");
  EXPECT_EQ(d->at("a").as_int(), 3);
  EXPECT_EQ(d->at("b").as_int(), 2);
}

TEST(Unpickle, IntegersOfEveryWidth) {
  // LONG1 with 8 bytes (-2^63), LONG1 with 3 bytes (negative), BININT2, BININT (negative)
  ValuePtr t = unpickle("(\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x03\x00\x00\xff" "M\xff\xff" "J\xfe\xff\xff\xfft."s, {});
  ASSERT_EQ(t->items().size(), 4u);
  EXPECT_EQ(t->items()[0]->as_int(), INT64_MIN);
  EXPECT_EQ(t->items()[1]->as_int(), -65536);
  EXPECT_EQ(t->items()[2]->as_int(), 65535);
  EXPECT_EQ(t->items()[3]->as_int(), -2);
  // Beyond int64: kept as an opaque builtins.int.
  ValuePtr big = unpickle("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."s, {});
  EXPECT_EQ(big->class_name(), "builtins.int");
}

TEST(Unpickle, UnknownClassesStayOpaque) {
  ValuePtr o = unpickle("cmy.module\nThing\nK\x07\x85R}X\x01\x00\x00\x00xK\x01sb."s, {});
  ASSERT_TRUE(o->is(K::Object));
  EXPECT_EQ(o->class_name(), "my.module.Thing");
  EXPECT_EQ(o->items().at(0)->as_int(), 7);
  ASSERT_TRUE(o->state());
  EXPECT_EQ(o->state()->at("x").as_int(), 1);
}

const std::string kRebuild = "ctorch._utils\n_rebuild_tensor_v2\n(NQ"s;
std::string rebuild(const std::string& offset, const std::string& size, const std::string& stride) {
  return kRebuild + offset + size + stride + "\x89NtR."s;
}

TEST(Unpickle, RebuildsTensorViewsWithinTheirStorage) {
  ValuePtr v = unpickle(rebuild("K\x01"s, "K\x02K\x02\x86"s, "K\x01K\x02\x86"s), storage_of(6));
  ASSERT_TRUE(v->is(K::Tensor));
  const at::Tensor& t = v->as_tensor();
  EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t.strides().vec(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(t[1][1].item<float>(), 4.0f);  // offset 1 + 1*1 + 1*2
}

TEST(Unpickle, RebuildTensorV3ViewsTheStorageBytesAsItsDtype) {
  // Storage: float32 [0, 1] = 8 bytes; viewed as int16 it holds 4 elements, the last 0x3f80.
  const std::string v3 = "ctorch._utils\n_rebuild_tensor_v3\n(NQK\x00"s;
  ValuePtr v = unpickle(v3 + "K\x04\x85K\x01\x85\x89Nctorch\nint16\ntR."s, storage_of(2));
  ASSERT_EQ(v->as_tensor().scalar_type(), at::kShort);
  EXPECT_EQ(v->as_tensor()[3].item<int16_t>(), 0x3f80);
  EXPECT_NE(unpickle_error(v3 + "K\x05\x85K\x01\x85\x89Nctorch\nint16\ntR."s, storage_of(2))
                .find("needs 5 elements but its storage holds 4"),
            std::string::npos);
  EXPECT_NE(unpickle_error(v3 + "K\x01\x85K\x01\x85\x89Nctorch\nfloat8\ntR."s, storage_of(2))
                .find("unsupported tensor dtype"),
            std::string::npos);
}

TEST(Unpickle, RejectsViewsBeyondTheirStorage) {
  EXPECT_NE(unpickle_error(rebuild("K\x00"s, "K\x05\x85"s, "K\x01\x85"s), storage_of(4)).find("needs 5 elements"),
            std::string::npos);
  EXPECT_NE(unpickle_error(rebuild("K\x01"s, "K\x04\x85"s, "K\x01\x85"s), storage_of(4)).find("needs 5 elements"),
            std::string::npos);
  EXPECT_NE(unpickle_error(rebuild("K\x00"s, "K\x02\x85"s, "\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x85"s),
                           storage_of(4)).find("overflows"), std::string::npos);
  EXPECT_NE(unpickle_error(rebuild("K\x00"s, "J\xff\xff\xff\xff\x85"s, "K\x01\x85"s), storage_of(4)).find("negative"),
            std::string::npos);
  EXPECT_NE(unpickle_error(rebuild("K\x00"s, "K\x02\x85"s, "K\x01K\x01\x86"s), storage_of(4)).find("differ"),
            std::string::npos);
  // An empty view may sit anywhere inside the storage.
  EXPECT_NO_THROW(unpickle(rebuild("K\x04"s, "K\x00\x85"s, "K\x01\x85"s), storage_of(4)));
  // A storage must come from a persistent id, not from a plain value.
  EXPECT_NE(unpickle_error("ctorch._utils\n_rebuild_tensor_v2\n(NK\x00)))\x89NtR."s).find("storage"),
            std::string::npos);
}

}  // namespace
}  // namespace voxseg::checkpoint::detail
