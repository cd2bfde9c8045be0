#include "voxseg/pacs/peer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "../shared_test_support.h"
#include "voxseg/pacs/steps.h"

using namespace voxseg;
using voxseg::test_support::capture_error;
namespace fs = std::filesystem;

TEST(ParsePeer, ReadsAetHostPort) {
  const pacs::Peer p = pacs::parse_peer("ORTHANC@127.0.0.1:4242");
  EXPECT_EQ(p.aet, "ORTHANC");
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 4242);
  EXPECT_EQ(p.str(), "ORTHANC@127.0.0.1:4242");
  EXPECT_EQ(pacs::parse_peer("A@[::1]:104").host, "[::1]");
}

TEST(ParsePeer, RefusesMalformedPeersWithUsage) {
  for (const char* bad : {"ORTHANC127.0.0.1:4242", "ORTHANC@127.0.0.1", "@host:1", "A@:1", "A@h:0", "A@h:65536",
                          "A@h:12x", "SEVENTEEN_CHARS_X@h:1", "A\\B@h:1"}) {
    EXPECT_EQ(capture_error([&] { pacs::parse_peer(bad); }).code(), ExitCode::Usage) << bad;
  }
}

TEST(Uids, ValidUidsAreTheirOwnFileNamesOthersAreHashed) {
  EXPECT_TRUE(pacs::is_valid_uid("1.2.840.10008.5.1.4.1.1.2"));
  for (const char* bad : {"", "1..2", ".1", "1.", "1.2a", "../../etc/passwd", "1/2"}) EXPECT_FALSE(pacs::is_valid_uid(bad)) << bad;
  EXPECT_FALSE(pacs::is_valid_uid(std::string(65, '1')));
  EXPECT_EQ(pacs::uid_file_stem("1.2.3"), "1.2.3");
  const std::string stem = pacs::uid_file_stem("../../etc/passwd");
  EXPECT_EQ(stem.find('/'), std::string::npos);
  EXPECT_EQ(stem.front(), 'x');
  EXPECT_EQ(stem, pacs::uid_file_stem("../../etc/passwd"));  // stable
}

TEST(PredictCommand, RunsVoxsegPredictWithDicomSegAndPassesOptions) {
  pacs::ListenOptions o;
  o.model = "models/m";
  o.precision = "bf16";
  o.disable_tta = true;
  o.threads = 3;
  o.predict_args = {"--step", "0.5"};
  const auto argv = pacs::predict_command(o, "/spool/series/k/instances", "/spool/series/k/out/labels.nii.gz");
  ASSERT_FALSE(argv.empty());
  EXPECT_NE(argv.front().find("voxseg-predict"), std::string::npos);
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  const std::vector<std::string> want = {"-m", "models/m", "-i", "/spool/series/k/instances", "-o",
                                         "/spool/series/k/out/labels.nii.gz", "--dicom-seg", "--force",
                                         "--precision", "bf16", "--disable-tta", "--threads", "3", "--step", "0.5"};
  EXPECT_EQ(rest, want);
  o.segment_command = "/bin/stand-in";
  EXPECT_EQ(pacs::predict_command(o, "i", "o").front(), "/bin/stand-in");
}

TEST(PredictCommand, WithARefineStepWritesOnlyTheLabelMap) {
  pacs::ListenOptions o;
  o.model = "models/m";
  o.refine.checkpoint = "sam.pth";
  const auto argv = pacs::predict_command(o, "I", "L.nii.gz");
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  EXPECT_EQ(rest, (std::vector<std::string>{"-m", "models/m", "-i", "I", "-o", "L.nii.gz", "--force"}));
}

TEST(RefineCommand, RefinesPredictsLabelsAndPassesOptions) {
  pacs::ListenOptions o;
  o.model = "models/m";
  o.precision = "bf16";  // predict's only
  o.device = "cpu";
  o.threads = 2;
  o.refine = {"/ckpt/sam.pth", "medsam", "union", "4", {"--window", "abdomen"}};
  const auto argv = pacs::refine_command(o, "/s/k/instances", "/s/k/out/labels.nii.gz", "/s/k/out/refined.nii.gz");
  ASSERT_FALSE(argv.empty());
  EXPECT_NE(argv.front().find("voxseg-refine"), std::string::npos);
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  const std::vector<std::string> want = {
      "--sam", "/ckpt/sam.pth", "-i", "/s/k/instances", "--labels", "/s/k/out/labels.nii.gz", "-o",
      "/s/k/out/refined.nii.gz", "--force", "--preset", "medsam", "--mode", "union", "--margin", "4", "--device", "cpu",
      "--threads", "2", "--window", "abdomen"};
  EXPECT_EQ(rest, want);
  o.refine = {"/ckpt/sam.pth", "", "", "", {}};  // unset options are left to voxseg refine's defaults
  o.device.clear();
  o.threads = 0;
  EXPECT_EQ(pacs::refine_command(o, "I", "L", "R").size(), 10u);
}

TEST(SegCommand, ConvertsTheRefinedLabelsWithTheModelsLabelTable) {
  pacs::ListenOptions o;
  o.model = "models/m";
  const pacs::RefineProvenance provenance{"ct-abdomen-small", "ab12", "medsam", "cd34"};
  auto argv = pacs::seg_command(o, "/o/refined.nii.gz", "/s/instances", "/o/refined.seg.dcm", provenance);
  ASSERT_FALSE(argv.empty());
  EXPECT_NE(argv.front().find("voxseg-convert"), std::string::npos);
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  EXPECT_EQ(rest, (std::vector<std::string>{"/o/refined.nii.gz", "/o/refined.seg.dcm", "--seg-reference",
                                            "/s/instances", "--label-table", "models/m", "--algorithm-name",
                                            "ct-abdomen-small + MedSAM", "--algorithm-parameters",
                                            "model_sha256=ab12; refine=medsam; sam_sha256=cd34", "--force"}));
  // nnU-Net: its dataset.json when there is one, else no label table (generic segment names).
  const fs::path nnunet = test_support::fresh_dir(fs::temp_directory_path(), "pacs-seg-command");
  o.model.clear();
  o.nnunet = nnunet.string();
  argv = pacs::seg_command(o, "R", "I", "S", provenance);
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--label-table"), argv.end());
  std::ofstream(nnunet / "dataset.json") << "{}";
  argv = pacs::seg_command(o, "R", "I", "S", provenance);
  const auto it = std::find(argv.begin(), argv.end(), "--label-table");
  ASSERT_NE(it, argv.end());
  EXPECT_EQ(*(it + 1), (nnunet / "dataset.json").string());
}

TEST(RefineProvenance, NamesThePredictStepsModelAndTheCheckpoint) {
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "pacs-refine-provenance");
  pacs::ListenOptions o;
  std::ofstream(dir / "labels.json") << R"({"model": {"id": "ct-small@0123456789ab", "sha256": "ff00"}})";
  auto p = pacs::refine_provenance(o, dir / "labels.json", "5a5a");
  EXPECT_EQ(p.model_name, "ct-small");  // the id without its version
  EXPECT_EQ(p.model_sha256, "ff00");
  EXPECT_EQ(p.preset, "sam");  // refine's default
  EXPECT_EQ(p.sam_sha256, "5a5a");
  std::ofstream(dir / "labels.json") << R"({"model": {"id": "x@1", "name": "Dataset001/3d_fullres", "sha256": "e"}})";
  EXPECT_EQ(pacs::refine_provenance(o, dir / "labels.json", "").model_name, "Dataset001/3d_fullres");
  // No report (a custom segment command): only the refinement is named.
  o.refine.preset = "medsam";
  p = pacs::refine_provenance(o, dir / "missing.json", "5a5a");
  EXPECT_TRUE(p.model_name.empty() && p.model_sha256.empty());
  const auto argv = pacs::seg_command(o, "R", "I", "S", p);
  const auto it = std::find(argv.begin(), argv.end(), "--algorithm-name");
  ASSERT_NE(it, argv.end());
  EXPECT_EQ(*(it + 1), "voxseg + MedSAM");
  EXPECT_EQ(*(it + 3), "refine=medsam; sam_sha256=5a5a");
}

TEST(RefineOptions, AreCheckedBeforeTheListenerStarts) {
  pacs::ListenOptions o;
  EXPECT_NO_THROW(pacs::check_refine_options(o));  // no refine step
  o.refine.mode = "union";
  EXPECT_EQ(capture_error([&] { pacs::check_refine_options(o); }).code(), ExitCode::Usage);  // needs --refine-sam
  const fs::path dir = test_support::fresh_dir(fs::temp_directory_path(), "pacs-refine-options");
  const fs::path ckpt = dir / "sam.pth";
  o.refine.checkpoint = ckpt.string();
  EXPECT_EQ(capture_error([&] { pacs::check_refine_options(o); }).code(), ExitCode::BadModel);  // no file
  std::ofstream(ckpt) << "x";
  EXPECT_NO_THROW(pacs::check_refine_options(o));
  for (auto bad : {std::pair<std::string*, std::string>{&o.refine.preset, "sam2"}, {&o.refine.mode, "merge"},
                   {&o.refine.margin, "-1"}, {&o.refine.margin, "2.5"}}) {
    const std::string keep = *bad.first;
    *bad.first = bad.second;
    EXPECT_EQ(capture_error([&] { pacs::check_refine_options(o); }).code(), ExitCode::Usage) << bad.second;
    *bad.first = keep;
  }
}

TEST(PassThroughOptions, NameEveryStringOptionOnce) {
  pacs::ListenOptions o;
  std::set<std::string> flags;
  for (const auto& p : pacs::pass_through_options(o)) {
    EXPECT_TRUE(flags.insert(p.flag).second) << p.flag;
    *p.value = std::string("v") + p.flag;
  }
  EXPECT_EQ(o.refine.checkpoint, "v--refine-sam");
  EXPECT_EQ(o.refine.margin, "v--refine-margin");
  EXPECT_EQ(o.folds, "v--folds");
}
