// Mutates valid checkpoints and asserts that reading them either succeeds or throws
// Error(BadModel): never another exception type, never a crash (run under ASan too).
#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "fixtures.h"
#include "voxseg/checkpoint/pth_reader.h"
#include "voxseg/core/error.h"

namespace voxseg::checkpoint {
namespace {

using testing::read_bytes;
using namespace std::string_literals;
using Records = std::map<std::string, std::string>;  // record name (without archive folder) -> bytes

Records unzip(const std::string& bytes) {
  std::istringstream in(bytes);
  caffe2::serialize::PyTorchStreamReader reader(&in);
  Records records;
  for (const auto& name : reader.getAllRecords()) {
    auto [ptr, n] = reader.getRecord(name);
    records[name] = std::string(static_cast<const char*>(ptr.get()), n);
  }
  return records;
}

// Writes a valid zip (correct CRCs) around possibly invalid records, so that mutations reach the
// pickle and storage checks instead of stopping at the zip layer.
std::string rezip(const Records& records) {
  std::string out;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* p, size_t n) {
      out.append(static_cast<const char*>(p), n);
      return n;
    });
    for (const auto& [name, data] : records) {
      if (name != "version") writer.writeRecord(name, data.data(), data.size());
    }
    writer.writeEndOfFile();
  }
  return out;
}

struct Outcomes {
  int ok = 0, bad_model = 0;
};

// Reads `bytes`; any outcome but success or Error(BadModel) fails the test. A success is
// walked fully (repr, tensor sums) so that out-of-bounds views would show under ASan.
void read_expecting_only_bad_model(const std::string& bytes, Outcomes& outcomes, const std::string& what) {
  try {
    ValuePtr v = read_pth_bytes(bytes, "fuzz.pth");
    (void)v->repr(100000);
    std::vector<const Value*> todo{v.get()};
    while (!todo.empty()) {
      const Value* x = todo.back();
      todo.pop_back();
      if (x->is(Value::Kind::Tensor) && x->as_tensor().numel() > 0) (void)x->as_tensor().to(at::kDouble).sum();
      if (x->is_sequence()) for (const auto& c : x->items()) todo.push_back(c.get());
      if (x->is(Value::Kind::Dict)) for (const auto& [k, c] : x->entries()) todo.push_back(c.get());
    }
    ++outcomes.ok;
  } catch (const Error& e) {
    ++outcomes.bad_model;
    ASSERT_EQ(e.code(), ExitCode::BadModel) << what << ": " << e.what();
    ASSERT_NE(std::string(e.what()).find("fuzz.pth"), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    FAIL() << what << ": escaped " << typeid(e).name() << ": " << e.what();
  } catch (...) {
    FAIL() << what << ": escaped a non-std exception";
  }
}

// VOXSEG_FUZZ_SCALE=N runs N times as many random mutations (for long local campaigns).
int fuzz_scale() {
  const char* s = std::getenv("VOXSEG_FUZZ_SCALE");
  return s && std::atoi(s) > 0 ? std::atoi(s) : 1;
}

const char* kFixtures[] = {"state_dict", "dtypes", "views", "nested", "nested_p4", "nnunet"};

TEST(FuzzPth, TruncatedFilesAreRejected) {
  VOXSEG_REQUIRE_FIXTURES();
  for (const char* name : kFixtures) {
    const std::string file = read_bytes(fixtures + "/" + name + ".pth");
    Outcomes o;
    std::vector<size_t> cuts;
    for (size_t i = 0; i < 100; ++i) cuts.push_back(file.size() * i / 100);
    for (size_t i = 1; i < 400 && i < file.size(); ++i) cuts.push_back(file.size() - i);  // the directory
    for (size_t cut : cuts) read_expecting_only_bad_model(file.substr(0, cut), o, fmt::format("{} cut at {}", name, cut));
    EXPECT_EQ(o.ok, 0) << name << ": a truncated file was accepted";
  }
}

TEST(FuzzPth, ByteFlipsInTheZipLayer) {
  VOXSEG_REQUIRE_FIXTURES();
  std::mt19937 rng(42);
  for (const char* name : kFixtures) {
    const std::string file = read_bytes(fixtures + "/" + name + ".pth");
    Outcomes o;
    for (int i = 0; i < 300 * fuzz_scale(); ++i) {
      std::string m = file;
      const int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) m[rng() % m.size()] ^= char(1 + rng() % 255);
      read_expecting_only_bad_model(m, o, fmt::format("{} zip flip #{}", name, i));
    }
    RecordProperty(std::string(name) + "_zip_ok", o.ok);
  }
}

TEST(FuzzPth, MutatedPicklesInValidZips) {
  VOXSEG_REQUIRE_FIXTURES();
  std::mt19937 rng(7);
  const char interesting[] = {0, 1, 2, 0x7f, char(0x80), char(0xff), 'h', 'q', 'R', 'b', '(', 't', 'a', 'u'};
  Outcomes total;
  for (const char* name : kFixtures) {
    const Records records = unzip(read_bytes(fixtures + "/" + name + ".pth"));
    const std::string pkl = records.at("data.pkl");
    for (int i = 0; i < 600 * fuzz_scale(); ++i) {
      std::string m = pkl;
      switch (rng() % 5) {
        case 0:  // random flips
          for (int f = 0, n = 1 + int(rng() % 3); f < n; ++f) m[rng() % m.size()] ^= char(1 + rng() % 255);
          break;
        case 1:  // interesting bytes
          m[rng() % m.size()] = interesting[rng() % sizeof(interesting)];
          break;
        case 2:  // delete a range
          m.erase(rng() % m.size(), 1 + rng() % 8);
          break;
        case 3: {  // duplicate a range (repeats memo puts/gets, marks, reduces)
          size_t at = rng() % m.size(), len = 1 + rng() % 16;
          m.insert(rng() % m.size(), m.substr(at, len));
          break;
        }
        default:  // truncate
          m.resize(rng() % m.size());
      }
      Records r = records;
      r["data.pkl"] = m;
      read_expecting_only_bad_model(rezip(r), total, fmt::format("{} pickle mutation #{}", name, i));
    }
  }
  RecordProperty("pickle_mutations_ok", total.ok);
  RecordProperty("pickle_mutations_bad_model", total.bad_model);
  EXPECT_GT(total.bad_model, 0);
}

TEST(FuzzPth, StorageRecordsSmallerThanDeclaredAreRejected) {
  VOXSEG_REQUIRE_FIXTURES();
  for (const char* name : kFixtures) {
    const Records records = unzip(read_bytes(fixtures + "/" + name + ".pth"));
    for (const auto& [record, data] : records) {
      if (record.rfind("data/", 0) != 0 || data.empty()) continue;
      Records r = records;
      r[record] = data.substr(0, data.size() / 2);
      Outcomes o;
      read_expecting_only_bad_model(rezip(r), o, fmt::format("{} short {}", name, record));
      EXPECT_EQ(o.ok, 0) << name << ": short " << record << " accepted";
      r.erase(record);
      read_expecting_only_bad_model(rezip(r), o, fmt::format("{} missing {}", name, record));
      EXPECT_EQ(o.ok, 0) << name << ": missing " << record << " accepted";
    }
  }
}

// data.pkl for torch.FloatStorage key '0' with `numel` elements viewed as `size` (all BININT).
std::string tensor_pickle(const std::string& numel, const std::string& size) {
  return "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
         "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpu"s + numel + "tQK\x00"s + size + "\x85K\x01\x85\x89NtR."s;
}

void expect_rejected(const Records& r, const std::string& fragment) {
  try {
    read_pth_bytes(rezip(r), "crafted.pth");
    FAIL() << "accepted; expected " << fragment;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::BadModel);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(FuzzPth, HugeDeclaredSizesAndCyclesAreRejected) {
  const std::string four_floats(16, '\0');
  Records r{{"data/0", four_floats}};
  r["data.pkl"] = tensor_pickle("K\x04"s, "K\x04"s);
  ASSERT_EQ(read_pth_bytes(rezip(r), "ok.pth")->as_tensor().numel(), 4);  // the crafted file is valid
  r["data.pkl"] = tensor_pickle("\x8a\x06\x00\x00\x00\x00\x00\x01"s, "K\x04"s);
  expect_rejected(r, "holds 16 bytes but declares 1099511627776 elements");
  r["data.pkl"] = tensor_pickle("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x7f"s, "K\x04"s);
  expect_rejected(r, "invalid size");
  r["data.pkl"] = tensor_pickle("K\x04"s, "\x8a\x05\x00\x00\x00\x00\x01"s);
  expect_rejected(r, "needs 4294967296 elements but its storage holds 4");
  r["data.pkl"] = tensor_pickle("K\x04"s, "J\xff\xff\xff\xff"s);
  expect_rejected(r, "negative");
  r["data.pkl"] = "\x80\x02]q\x00h\x00" "a."s;
  expect_rejected(r, "cyclic");
  r["data.pkl"] = "\x80\x02]q\x00h\x01" "a."s;
  expect_rejected(r, "memo reference 1 is missing");
}

TEST(ReadPthCrafted, BigEndianFilesAreByteSwapped) {
  // float32 1.5 = 0x3fc00000 and -2.0 = 0xc0000000, written big-endian.
  Records r{{"data/0", "\x3f\xc0\x00\x00\xc0\x00\x00\x00"s}, {"byteorder", "big"}};
  r["data.pkl"] = tensor_pickle("K\x02"s, "K\x02"s);
  const at::Tensor t = read_pth_bytes(rezip(r), "big.pth")->as_tensor();
  EXPECT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_EQ(t[1].item<float>(), -2.0f);
  r["byteorder"] = "little";
  EXPECT_NE(read_pth_bytes(rezip(r), "little.pth")->as_tensor()[0].item<float>(), 1.5f);
  r["byteorder"] = "middle";
  expect_rejected(r, "unknown byteorder 'middle'");
}

}  // namespace
}  // namespace voxseg::checkpoint
