#include "net/static_files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "net/router.hpp"

namespace atrium::net {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> header(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

void write(const fs::path& file, std::string_view text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("atrium-static-" + std::to_string(std::random_device{}()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    root_ = base_ / "web";
    write(root_ / "index.html", "<h1>apps</h1>");
    write(root_ / "whiteboard" / "index.html", "<canvas>");
    write(root_ / "whiteboard" / "main.js", "console.log(1)");
    write(root_ / "whiteboard" / "style.css", "body{}");
    write(root_ / "whiteboard" / "blob.bin", "xx");
    write(root_ / ".secret", "hidden");
    write(base_ / "outside.txt", "secret");
    fs::create_symlink(base_ / "outside.txt", root_ / "link.txt");
    add_static_files(router_, "/apps", root_);
  }
  void TearDown() override { fs::remove_all(base_); }

  Response get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request request;
    request.method = Method::get;
    request.target = target;
    request.path = target.substr(0, target.find('?'));
    request.headers = std::move(headers);
    int calls = 0;
    Response out;
    router_.dispatch(request, [&](Response r) {
      ++calls;
      out = std::move(r);
    });
    EXPECT_EQ(calls, 1) << target;
    return out;
  }

  fs::path base_, root_;
  Router router_;
};

TEST(StaticFilesPure, ContentTypes) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("main.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("main.js.map"), "application/json");
  EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("x.wasm"), "application/wasm");
  EXPECT_EQ(content_type_for("x.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("x.png"), "image/png");
  EXPECT_EQ(content_type_for("Makefile"), "application/octet-stream");
}

TEST(StaticFilesPure, ResolvesPlainPaths) {
  fs::path root = "/srv/web";
  EXPECT_EQ(resolve_static_path(root, ""), root);
  EXPECT_EQ(resolve_static_path(root, "a/b.js"), root / "a" / "b.js");
  EXPECT_EQ(resolve_static_path(root, "a/"), root / "a");
  EXPECT_EQ(resolve_static_path(root, "with%20space.txt"), root / "with space.txt");
}

TEST(StaticFilesPure, RefusesTraversalAndHiddenFiles) {
  fs::path root = "/srv/web";
  for (std::string_view bad :
       {"..", "../etc/passwd", "a/../../x", "%2e%2e/x", "%2E%2E", "a/%2e%2e/%2e%2e/x", ".", "a/./b",
        ".git/config", "a/.env", "a%2F..%2F..%2Fx", "..%2f..%2fetc", "a%5C..%5Cx", "a%00.js",
        "a//b", "/etc/passwd", "%zz", "a/%"}) {
    EXPECT_FALSE(resolve_static_path(root, bad).has_value()) << bad;
  }
}

TEST_F(StaticFilesTest, ServesFilesWithTypesAndCaching) {
  auto html = get("/apps/whiteboard/index.html");
  EXPECT_EQ(html.status, 200);
  EXPECT_EQ(html.body, "<canvas>");
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(html, "Cache-Control"), "no-store");

  auto js = get("/apps/whiteboard/main.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(js, "X-Content-Type-Options"), "nosniff");
  ASSERT_TRUE(header(js, "ETag").has_value());

  EXPECT_EQ(get("/apps/whiteboard/style.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get("/apps/whiteboard/blob.bin").content_type, "application/octet-stream");
}

TEST_F(StaticFilesTest, RevalidatesWithETag) {
  auto first = get("/apps/whiteboard/main.js");
  auto etag = header(first, "ETag");
  ASSERT_TRUE(etag);
  auto again = get("/apps/whiteboard/main.js", {{"if-none-match", *etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(get("/apps/whiteboard/main.js", {{"if-none-match", "\"other\""}}).status, 200);
}

TEST_F(StaticFilesTest, DirectoriesServeIndexAndGetTheirSlash) {
  auto index = get("/apps/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<h1>apps</h1>");
  EXPECT_EQ(header(index, "Cache-Control"), "no-store");

  auto mount = get("/apps");
  EXPECT_EQ(mount.status, 302);
  EXPECT_EQ(header(mount, "Location"), "/apps/");

  auto dir = get("/apps/whiteboard?room=x");
  EXPECT_EQ(dir.status, 302);
  EXPECT_EQ(header(dir, "Location"), "/apps/whiteboard/?room=x");
  EXPECT_EQ(get("/apps/whiteboard/").body, "<canvas>");
  // A file named like a directory is not one.
  EXPECT_EQ(get("/apps/whiteboard/main.js/").status, 404);
}

TEST_F(StaticFilesTest, RefusesWhatIsNotServable) {
  for (std::string target :
       {"/apps/missing.js", "/apps/.secret", "/apps/%2esecret", "/apps/../outside.txt",
        "/apps/whiteboard/../../outside.txt", "/apps/..%2Foutside.txt", "/apps/link.txt",
        "/apps/whiteboard/%2e%2e/%2e%2e/outside.txt"}) {
    auto r = get(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << target;
  }
}

TEST_F(StaticFilesTest, MissingRootSaysHowToBuild) {
  Router router;
  add_static_files(router, "/apps", base_ / "nope");
  Request request;
  request.path = request.target = "/apps/whiteboard/";
  Response out;
  router.dispatch(request, [&](Response r) { out = std::move(r); });
  EXPECT_EQ(out.status, 404);
  EXPECT_NE(out.body.find("scripts/build"), std::string::npos);
}

TEST(StaticFilesRedirect, KeepsTheQuery) {
  Router router;
  router.add(Method::get, "/", redirect_to("/apps/"));
  Request request;
  request.path = "/";
  request.target = "/?a=1";
  Response out;
  router.dispatch(request, [&](Response r) { out = std::move(r); });
  EXPECT_EQ(out.status, 302);
  EXPECT_EQ(header(out, "Location"), "/apps/?a=1");
}

}  // namespace
}  // namespace atrium::net
