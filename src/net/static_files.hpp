#pragma once
// Serves a folder of static files (the bundled web apps) below a mount point
// such as "/apps". Paths are decoded segment by segment and refused when a
// segment is empty, ".", "..", hidden (".git") or holds a slash, backslash or
// NUL, and when the resolved file (after symlinks) is outside the root.
// HTML is sent with `Cache-Control: no-store` so a rebuilt app is picked up
// at once; other files with `no-cache` and an ETag (revalidated, 304).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "net/http.hpp"

namespace atrium::net {

class Router;

// The Content-Type for a file name's extension (application/octet-stream
// when unknown).
std::string_view content_type_for(std::string_view filename);

// Maps the percent-encoded path below the mount ("whiteboard/main.js", ""
// for the mount itself) to a path under `root`, or nullopt when refused.
// Does not touch the file system.
std::optional<std::filesystem::path> resolve_static_path(const std::filesystem::path& root,
                                                         std::string_view encoded_rel);

// Answers GET/HEAD `request` (whose path starts with `mount` + "/") from
// `root`: the file, a directory's index.html, a redirect that adds the
// trailing slash to a directory, 304 on a matching If-None-Match, or 404.
Response serve_static(const std::filesystem::path& root, std::string_view mount,
                      const Request& request);

// Registers GET routes for `mount` (e.g. "/apps"; "/apps" itself redirects
// to "/apps/") serving `root`, up to 8 path segments deep.
void add_static_files(Router& router, const std::string& mount, std::filesystem::path root);

// A handler answering 302 with `Location: location` (the query kept).
Handler redirect_to(std::string location);

}  // namespace atrium::net
