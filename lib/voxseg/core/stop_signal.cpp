#include "voxseg/core/stop_signal.h"

#include <unistd.h>

#include <atomic>

namespace voxseg {
namespace {

// A handler may only touch lock-free atomics.
static_assert(std::atomic<int>::is_always_lock_free, "stop flag must be usable in a signal handler");
std::atomic<int> g_stop{0};
std::atomic<bool> g_exit_on_second{false};

void on_stop_signal(int sig) {
  int none = 0;
  if (g_stop.compare_exchange_strong(none, sig)) return;
  if (g_exit_on_second.load()) ::_exit(128 + sig);
}

}  // namespace

StopSignalScope::StopSignalScope(SecondSignal second) {
  g_stop.store(0);
  g_exit_on_second.store(second == SecondSignal::Exit);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignalScope::~StopSignalScope() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int stop_signal() { return g_stop.load(); }

void request_stop() {
  int none = 0;
  g_stop.compare_exchange_strong(none, -1);
}

}  // namespace voxseg
