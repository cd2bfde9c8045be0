#include "voxseg/core/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace voxseg::log {
namespace {
std::string g_program = "voxseg";
std::atomic<int> g_level{static_cast<int>(Level::Warn)};
std::atomic<LineHook> g_hook{nullptr};
std::mutex g_mutex;

const char* level_name(Level level) {
  switch (level) {
    case Level::Error: return "error";
    case Level::Warn: return "warning";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
  }
  return "";
}

bool use_colour() {
  static const bool colour = isatty(STDERR_FILENO) && std::getenv("NO_COLOR") == nullptr;
  return colour;
}

const char* colour_of(Level level) {
  switch (level) {
    case Level::Error: return "\033[31m";
    case Level::Warn: return "\033[33m";
    default: return "";
  }
}
}  // namespace

void set_program(std::string name) { g_program = std::move(name); }
const std::string& program() { return g_program; }
void set_level(Level level) { g_level = static_cast<int>(level); }
Level level() { return static_cast<Level>(g_level.load()); }
bool enabled(Level l) { return static_cast<int>(l) <= g_level.load(); }
void set_line_hook(LineHook hook) { g_hook = hook; }

bool parse_level(std::string_view text, Level& out) {
  if (text == "error" || text == "0") out = Level::Error;
  else if (text == "warn" || text == "warning" || text == "1") out = Level::Warn;
  else if (text == "info" || text == "2") out = Level::Info;
  else if (text == "debug" || text == "3") out = Level::Debug;
  else return false;
  return true;
}

void write(Level l, std::string_view text) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto hook = g_hook.load()) hook();
  const bool colour = use_colour() && *colour_of(l);
  std::string line = fmt::format("{}: {}{}{}: {}\n", g_program, colour ? colour_of(l) : "", level_name(l),
                                 colour ? "\033[0m" : "", text);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void write_plain(std::string_view text) {
  if (!enabled(Level::Warn)) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto hook = g_hook.load()) hook();
  const std::string line = fmt::format("{}: {}\n", g_program, text);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace voxseg::log
