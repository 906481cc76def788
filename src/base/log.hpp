#pragma once
// Structured logging: one line per record, logfmt style
// (`ts=... level=info comp=http msg="..." key=value`), so logs stay greppable
// and machine-readable. Each component takes a named logger.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace atrium::log {

// Configure the process-wide sink once, at start. level: trace..critical.
void init(const std::string& level = "info");

// A logger whose records carry comp=<name>.
std::shared_ptr<spdlog::logger> get(const std::string& component);

}  // namespace atrium::log
