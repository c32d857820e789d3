// Minimal leveled logging to stderr, for start-up, shutdown and the periodic
// stats line. Never used per datagram.
//
// Thread safety: log lines from several threads do not interleave (one
// fprintf per line; stdio locks the stream).
#pragma once

#include <cstdarg>
#include <cstdio>

namespace ringflow {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
bool parse_log_level(const char* name, LogLevel* out);

// printf-style; a newline is appended.
void log_msg(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define RF_LOG_ERROR(...) ::ringflow::log_msg(::ringflow::LogLevel::kError, __VA_ARGS__)
#define RF_LOG_WARN(...) ::ringflow::log_msg(::ringflow::LogLevel::kWarn, __VA_ARGS__)
#define RF_LOG_INFO(...) ::ringflow::log_msg(::ringflow::LogLevel::kInfo, __VA_ARGS__)
#define RF_LOG_DEBUG(...) ::ringflow::log_msg(::ringflow::LogLevel::kDebug, __VA_ARGS__)

}  // namespace ringflow
