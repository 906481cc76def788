#pragma once
// Turns the JSON results of several `hs_load run`s into the homeserver section
// of BENCHMARKS.md: medians, targets, published anchors and the method.
#include <ostream>
#include <string>
#include <vector>

namespace hs_bench {

// Writes the section, between its marker comments, to `out`. `server_config_path` is the YAML
// the server ran with (quoted in the method) and `revision` names the server source measured;
// either may be empty to leave it out. Returns the exit code.
int write_report(const std::vector<std::string>& run_paths, const std::string& server_config_path,
                 const std::string& revision, std::ostream& out);

}  // namespace hs_bench
