#include "voxseg/train/distributed.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "voxseg/core/error.h"

using namespace voxseg::train;

namespace {
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* k) -> const char* {
    const auto it = vars.find(k);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}
voxseg::ExitCode code_of(const DistributedOptions& d, const EnvLookup& env) {
  try {
    resolve_distributed(d, env);
  } catch (const voxseg::Error& e) {
    return e.code();
  }
  return voxseg::ExitCode::Ok;
}
}  // namespace

TEST(ResolveDistributed, NothingSetIsOneProcess) {
  const auto d = resolve_distributed({}, env_of({}));
  EXPECT_EQ(d.world_size, 1);
  EXPECT_EQ(d.rank, 0);
  EXPECT_EQ(d.master_addr, "127.0.0.1");
  EXPECT_EQ(d.master_port, 29500);
}

TEST(ResolveDistributed, TorchrunVariablesThenFlagsOverrideThem) {
  const auto env = env_of({{"WORLD_SIZE", "4"}, {"RANK", "2"}, {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "1234"}});
  auto d = resolve_distributed({}, env);
  EXPECT_EQ(d.world_size, 4);
  EXPECT_EQ(d.rank, 2);
  EXPECT_EQ(d.master_addr, "node7");
  EXPECT_EQ(d.master_port, 1234);
  EXPECT_EQ(d.origin, "WORLD_SIZE");
  DistributedOptions given;
  given.world_size = 2;
  given.rank = 1;
  given.master_port = 4321;
  d = resolve_distributed(given, env);
  EXPECT_EQ(d.world_size, 2);
  EXPECT_EQ(d.rank, 1);
  EXPECT_EQ(d.master_addr, "node7");
  EXPECT_EQ(d.master_port, 4321);
}

TEST(ResolveDistributed, SlurmStepGivesRanksHostAndJobPort) {
  const auto env = env_of({{"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_PROCID", "5"},
                           {"SLURM_STEP_NODELIST", "gpu[03-05,09],cpu1"}, {"SLURM_JOB_ID", "123456"}});
  const auto d = resolve_distributed({}, env);
  EXPECT_EQ(d.world_size, 8);
  EXPECT_EQ(d.rank, 5);
  EXPECT_EQ(d.master_addr, "gpu03");
  EXPECT_EQ(d.master_port, 20000 + 123456 % 10000);
  EXPECT_EQ(d.origin, "SLURM_NTASKS");
}

TEST(ResolveDistributed, SlurmBatchScriptWithoutSrunStaysOneProcess) {
  // sbatch --ntasks=4 sets SLURM_NTASKS in the batch script too; only srun's tasks are ranks.
  const auto d = resolve_distributed({}, env_of({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}, {"SLURM_JOB_ID", "9"}}));
  EXPECT_EQ(d.world_size, 1);
  EXPECT_EQ(d.master_port, 29500);
}

TEST(ResolveDistributed, BadValuesAreUsageErrors) {
  EXPECT_EQ(code_of({}, env_of({{"WORLD_SIZE", "two"}})), voxseg::ExitCode::Usage);
  EXPECT_EQ(code_of({}, env_of({{"WORLD_SIZE", "2"}, {"RANK", "2"}})), voxseg::ExitCode::Usage);
  EXPECT_EQ(code_of({}, env_of({{"WORLD_SIZE", "-1"}})), voxseg::ExitCode::Usage);
  EXPECT_EQ(code_of({}, env_of({{"MASTER_PORT", "70000"}})), voxseg::ExitCode::Usage);
  DistributedOptions zero_timeout;
  zero_timeout.timeout_s = 0;
  EXPECT_EQ(code_of(zero_timeout, env_of({})), voxseg::ExitCode::Usage);
  try {
    resolve_distributed({}, env_of({{"WORLD_SIZE", "2"}, {"RANK", "3"}}));
    FAIL() << "no error";
  } catch (const voxseg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 3 is outside 0..1 (world size 2 from WORLD_SIZE)"), std::string::npos)
        << e.what();
  }
}

TEST(FirstSlurmHost, Table) {
  const std::pair<const char*, const char*> cases[] = {
      {"node1", "node1"},          {"node1,node2", "node1"},      {"gpu[03-05,09]", "gpu03"},
      {"gpu[7,9-11],cpu1", "gpu7"}, {"rack[2-3]-n[1-4]", "rack2-n1"}, {"a-b-c.example.org", "a-b-c.example.org"}};
  for (const auto& [list, host] : cases) EXPECT_EQ(first_slurm_host(list), host) << list;
}
