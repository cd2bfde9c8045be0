#pragma once
#include <fmt/format.h>

#include <string>
#include <string_view>

namespace voxseg::log {

enum class Level : int { Error = 0, Warn = 1, Info = 2, Debug = 3 };

/// Program name used as the line prefix ("voxseg-info").
void set_program(std::string name);
const std::string& program();
void set_level(Level level);
Level level();
bool enabled(Level level);
/// Parses "error|warn|info|debug" (or 0..3); returns false when not recognised.
bool parse_level(std::string_view text, Level& out);

/// Writes one line "<program>: <level>: <text>" to stderr under a mutex.
void write(Level level, std::string_view text);

/// Writes "<program>: <text>" (no level) when warnings are enabled, i.e. unless -q: batch progress
/// lines that belong in redirected logs at the default verbosity.
void write_plain(std::string_view text);

/// Called before each log line; the progress display uses it to end a half-drawn bar.
using LineHook = void (*)();
void set_line_hook(LineHook hook);

template <typename... T>
void error(fmt::format_string<T...> f, T&&... args) {
  write(Level::Error, fmt::format(f, std::forward<T>(args)...));
}
template <typename... T>
void warn(fmt::format_string<T...> f, T&&... args) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<T>(args)...));
}
template <typename... T>
void info(fmt::format_string<T...> f, T&&... args) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<T>(args)...));
}
template <typename... T>
void debug(fmt::format_string<T...> f, T&&... args) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<T>(args)...));
}

}  // namespace voxseg::log
