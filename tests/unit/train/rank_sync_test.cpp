// Two ranks (threads of this process, over Gloo on 127.0.0.1) agree on sums, averaged gradients
// and the largest pending stop signal.
#include "voxseg/train/detail/rank_sync.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <exception>
#include <thread>

#include "../shared_test_support.h"

using namespace voxseg::train;
namespace vtd = voxseg::train::detail;

namespace {
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct RankOutcome {
  std::vector<double> values;
  int values_stop = 0;
  vtd::StepAgreement step;
  std::vector<float> grad;
  std::exception_ptr error;
};
}  // namespace

TEST(RankSync, RanksAgreeOnSumsGradientsAndTheLargestStopSignal) {
  if (!distributed_available()) GTEST_SKIP() << "this build has no Gloo backend (libgloo-dev)";
  const int port = free_port();
  RankOutcome out[2];
  auto rank = [&](int r) {
    try {
      DistributedOptions d;
      d.world_size = 2, d.rank = r, d.master_addr = "127.0.0.1", d.master_port = port, d.timeout_s = 60;
      ProcessGroup g(d);
      out[r].values = {1.0 + r, 10.0};
      out[r].values_stop = vtd::all_reduce_values(&g, out[r].values, r == 1 ? SIGTERM : 0, "the test sum");
      std::vector<at::Tensor> params{torch::zeros({3})};
      params[0].mutable_grad() = torch::full({3}, 2.0f * float(r + 1));  // 2 and 4: mean 3
      out[r].step = vtd::all_reduce_step(g, params, r == 0 ? 1.0 : 3.0, r == 0 ? SIGINT : 0);
      const at::Tensor grad = params[0].grad().contiguous();
      out[r].grad.assign(grad.data_ptr<float>(), grad.data_ptr<float>() + grad.numel());
    } catch (...) {
      out[r].error = std::current_exception();
    }
  };
  std::thread other(rank, 1);
  rank(0);
  other.join();
  for (int r = 0; r < 2; ++r) {
    if (out[r].error) std::rethrow_exception(out[r].error);
    EXPECT_EQ(out[r].values, (std::vector<double>{3.0, 20.0})) << "rank " << r;
    EXPECT_EQ(out[r].values_stop, SIGTERM) << "rank " << r;
    EXPECT_DOUBLE_EQ(out[r].step.loss, 2.0) << "rank " << r;
    EXPECT_EQ(out[r].step.stop_signal, SIGINT) << "rank " << r;
    EXPECT_EQ(out[r].grad, (std::vector<float>{3, 3, 3})) << "rank " << r;
  }
}

TEST(RankSync, OneProcessKeepsItsValuesAndItsOwnSignal) {
  std::vector<double> v{1.5, 2.5};
  EXPECT_EQ(vtd::all_reduce_values(nullptr, v, SIGTERM, "nothing"), SIGTERM);
  EXPECT_EQ(v, (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(vtd::rank_seed(42, 0), 42u);
  EXPECT_NE(vtd::rank_seed(42, 1), vtd::rank_seed(42, 2));
}

TEST(RankSync, SetupErrorsTravelWithTheirExitCode) {
  const std::string text = vtd::setup_error_text(voxseg::Error(voxseg::ExitCode::BadInput, "case a: no label"));
  const auto e = voxseg::test_support::capture_error([&] { vtd::fail_if_setup_error(text); });
  EXPECT_EQ(e.code(), voxseg::ExitCode::BadInput);
  EXPECT_EQ(std::string(e.what()), "rank 0 stopped: case a: no label");
  vtd::fail_if_setup_error("ok\n{}");  // not an error: nothing thrown
}
