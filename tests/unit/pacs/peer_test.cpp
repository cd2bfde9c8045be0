#include "voxseg/pacs/peer.h"

#include <gtest/gtest.h>

#include "../shared_test_support.h"
#include "voxseg/pacs/listener.h"

using namespace voxseg;
using voxseg::test_support::capture_error;

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
