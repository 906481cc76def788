#include "net/static_files.hpp"

#include <boost/url/pct_string_view.hpp>
#include <fstream>
#include <iterator>
#include <system_error>

#include "net/router.hpp"

namespace atrium::net {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxDepth = 8;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Response plain(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response redirect(std::string location) {
  Response r;
  r.status = 302;
  r.content_type.clear();
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

std::string query_of(const Request& request) {
  size_t q = request.target.find('?');
  return q == std::string::npos ? std::string() : request.target.substr(q);
}

// True when `path` is `root` or below it, compared after resolving symlinks,
// so a link inside the folder cannot point outside it.
bool inside(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  fs::path real_root = fs::canonical(root, ec);
  if (ec) return false;
  fs::path real = fs::canonical(path, ec);
  if (ec) return false;
  auto r = real_root.begin();
  auto p = real.begin();
  for (; r != real_root.end(); ++r, ++p) {
    if (p == real.end() || *p != *r) return false;
  }
  return true;
}

std::string etag_of(const fs::path& file, uintmax_t size) {
  std::error_code ec;
  auto mtime = fs::last_write_time(file, ec);
  // file_clock's epoch is unspecified: the count may be negative; only equality matters.
  auto ticks = ec ? 0ULL : static_cast<unsigned long long>(mtime.time_since_epoch().count());
  return "\"" + std::to_string(size) + "-" + std::to_string(ticks) + "\"";
}

}  // namespace

std::string_view content_type_for(std::string_view filename) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (ends_with(filename, ext)) return type;
  }
  return "application/octet-stream";
}

std::optional<fs::path> resolve_static_path(const fs::path& root, std::string_view encoded_rel) {
  fs::path out = root;
  if (encoded_rel.empty()) return out;
  // One trailing slash names a directory; any other empty segment is refused.
  if (encoded_rel.back() == '/') encoded_rel.remove_suffix(1);
  for (;;) {
    size_t slash = encoded_rel.find('/');
    std::string_view raw = encoded_rel.substr(0, slash);
    auto encoded = boost::urls::make_pct_string_view(raw);
    if (!encoded) return std::nullopt;
    std::string segment = encoded->decode();
    // Split before decoding: "%2F" and "%5C" must not smuggle separators in.
    if (segment.empty() || segment.front() == '.') return std::nullopt;  // ".", "..", dotfiles
    if (segment.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
      return std::nullopt;
    out /= segment;
    if (slash == std::string_view::npos) break;
    encoded_rel.remove_prefix(slash + 1);
  }
  return out;
}

Response serve_static(const fs::path& root, std::string_view mount, const Request& request) {
  std::string_view path = request.path;
  if (path == mount) return redirect(std::string(mount) + "/" + query_of(request));
  if (path.size() <= mount.size() || path.substr(0, mount.size()) != mount ||
      path[mount.size()] != '/')
    return plain(404, "Not found\n");
  auto resolved = resolve_static_path(root, path.substr(mount.size() + 1));
  if (!resolved) return plain(404, "Not found\n");

  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return plain(
        404, "The web apps are not built: run scripts/build (looked in " + root.string() + ")\n");
  }
  fs::path file = *resolved;
  if (fs::is_directory(file, ec)) {
    // Relative URLs in index.html need the trailing slash.
    if (path.back() != '/') return redirect(std::string(path) + "/" + query_of(request));
    file /= "index.html";
  } else if (path.back() == '/') {
    return plain(404, "Not found\n");
  }
  if (!fs::is_regular_file(file, ec) || !inside(root, file)) return plain(404, "Not found\n");

  uintmax_t size = fs::file_size(file, ec);
  if (ec) return plain(404, "Not found\n");
  Response r;
  r.content_type = std::string(content_type_for(file.filename().string()));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (ends_with(file.filename().string(), ".html")) {
    r.headers.emplace_back("Cache-Control", "no-store");
  } else {
    // Bundles keep their names across builds: revalidate every time.
    std::string etag = etag_of(file, size);
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("ETag", etag);
    if (auto inm = request.header("if-none-match"); inm && *inm == etag) {
      r.status = 304;
      r.content_type.clear();
      return r;
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return plain(404, "Not found\n");
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

void add_static_files(Router& router, const std::string& mount, fs::path root) {
  // The router captures single segments: one route per depth.
  auto handler = [root = std::move(root), mount](Request& request, Respond respond) {
    respond(serve_static(root, mount, request));
  };
  std::string pattern = mount;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    router.add(Method::get, pattern + "/{p" + std::to_string(depth) + "?}", handler);
    pattern += "/{s" + std::to_string(depth) + "}";
  }
}

Handler redirect_to(std::string location) {
  return [location = std::move(location)](Request& request, Respond respond) {
    respond(redirect(location + query_of(request)));
  };
}

}  // namespace atrium::net
