// Minimal leveled logging to stderr, for start-up, shutdown and the periodic
// stats line. Never used per datagram.
//
// Format: "2024-01-02T03:04:05.678Z info  message" on a terminal or file; when
// stderr is systemd's journal (JOURNAL_STREAM names stderr's device:inode,
// systemd.exec(5)) "<6>message": the journal adds its own timestamp, and the
// "<N>" prefix gives it the syslog priority (3 error, 4 warn, 6 info, 7 debug).
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

// True when stderr is the journal stream systemd connected (see above).
bool stderr_is_journal();

// printf-style; a newline is appended.
void log_msg(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define RF_LOG_ERROR(...) ::ringflow::log_msg(::ringflow::LogLevel::kError, __VA_ARGS__)
#define RF_LOG_WARN(...) ::ringflow::log_msg(::ringflow::LogLevel::kWarn, __VA_ARGS__)
#define RF_LOG_INFO(...) ::ringflow::log_msg(::ringflow::LogLevel::kInfo, __VA_ARGS__)
#define RF_LOG_DEBUG(...) ::ringflow::log_msg(::ringflow::LogLevel::kDebug, __VA_ARGS__)

}  // namespace ringflow
