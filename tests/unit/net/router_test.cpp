#include "net/router.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "base/error.hpp"

namespace atrium::net {
namespace {

// Dispatches synchronously and returns the single response (fails the test
// if the router answered zero or several times).
struct Outcome {
  int calls = 0;
  Response response;
  Request request;  // as the handler saw it
};

Outcome call(const Router& router, Method method, std::string path) {
  Outcome out;
  out.request.method = method;
  out.request.path = std::move(path);
  out.request.target = out.request.path;
  router.dispatch(out.request, [&out](Response r) {
    ++out.calls;
    out.response = std::move(r);
  });
  EXPECT_EQ(out.calls, 1);
  return out;
}

std::optional<std::string> header(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string errcode(const Response& r) {
  auto json = boost::json::parse(r.body).as_object();
  return std::string(json.at("errcode").as_string());
}

void expect_cors(const Response& r) {
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "GET, HEAD, POST, PUT, DELETE, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Headers"),
            "X-Requested-With, Content-Type, Authorization, Date");
  EXPECT_TRUE(header(r, "Access-Control-Expose-Headers").has_value());
}

// Echoes the captured params as "name=value;" in key order.
Handler echo_params() {
  return [](Request& req, Respond respond) {
    std::string body;
    for (const auto& [k, v] : req.params)
      body += k + "=" + v + ";";
    Response r;
    r.content_type = "text/plain";
    r.body = body;
    respond(std::move(r));
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(Method::put, "/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}",
               echo_params());
    router.add(Method::get, "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey?}",
               echo_params());
    router.add(Method::get, "/_matrix/client/versions", echo_params());
    router.add(Method::post, "/_matrix/client/versions", echo_params());
  }
  Router router;
};

TEST_F(RouterTest, CapturesAreDecoded) {
  auto out = call(router, Method::put,
                  "/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/t%231");
  EXPECT_EQ(out.response.status, 200);
  EXPECT_EQ(out.response.body, "eventType=m.room.message;roomId=!abc:example.org;txnId=t#1;");
  EXPECT_EQ(out.request.param("roomId"), "!abc:example.org");
  EXPECT_THROW(out.request.param("nope"), std::out_of_range);
  expect_cors(out.response);
}

TEST_F(RouterTest, EncodedSlashStaysInsideItsSegment) {
  auto out = call(router, Method::put, "/_matrix/client/v3/rooms/%21r%3Ax/send/m.x/a%2Fb");
  EXPECT_EQ(out.response.status, 200);
  EXPECT_EQ(out.request.param("txnId"), "a/b");
}

TEST_F(RouterTest, OptionalLastCapture) {
  const std::string base = "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.name";
  auto absent = call(router, Method::get, base);
  EXPECT_EQ(absent.response.status, 200);
  EXPECT_EQ(absent.request.param("stateKey"), "");
  EXPECT_EQ(absent.request.param("eventType"), "m.room.name");

  auto empty = call(router, Method::get, base + "/");
  EXPECT_EQ(empty.response.status, 200);
  EXPECT_EQ(empty.request.param("stateKey"), "");

  auto present = call(router, Method::get, base + "/%40alice%3Ax");
  EXPECT_EQ(present.response.status, 200);
  EXPECT_EQ(present.request.param("stateKey"), "@alice:x");

  auto too_long = call(router, Method::get, base + "/a/b");
  EXPECT_EQ(too_long.response.status, 404);
}

TEST_F(RouterTest, TrailingSlashIsTolerated) {
  EXPECT_EQ(call(router, Method::get, "/_matrix/client/versions/").response.status, 200);
  EXPECT_EQ(call(router, Method::get, "/_matrix/client/versions//").response.status, 404);
}

TEST_F(RouterTest, RequiredCaptureMustNotBeEmpty) {
  auto out = call(router, Method::put, "/_matrix/client/v3/rooms//send/m.x/t1");
  EXPECT_EQ(out.response.status, 404);
}

TEST_F(RouterTest, LiteralsCompareDecoded) {
  EXPECT_EQ(call(router, Method::get, "/%5Fmatrix/client/versions").response.status, 200);
}

TEST_F(RouterTest, UnknownPathIs404WithCors) {
  auto out = call(router, Method::get, "/_matrix/client/v3/nothing");
  EXPECT_EQ(out.response.status, 404);
  EXPECT_EQ(errcode(out.response), "M_UNRECOGNIZED");
  expect_cors(out.response);
}

TEST_F(RouterTest, WrongMethodIs405) {
  auto out = call(router, Method::del, "/_matrix/client/versions");
  EXPECT_EQ(out.response.status, 405);
  EXPECT_EQ(errcode(out.response), "M_UNRECOGNIZED");
  EXPECT_EQ(header(out.response, "Allow"), "GET, POST");
  expect_cors(out.response);
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  EXPECT_EQ(call(router, Method::head, "/_matrix/client/versions").response.status, 200);
}

TEST_F(RouterTest, BadPercentEncodingIs400) {
  auto out = call(router, Method::get, "/_matrix/client/v3/rooms/%zz/state/x");
  EXPECT_EQ(out.response.status, 400);
  EXPECT_EQ(errcode(out.response), "M_UNRECOGNIZED");
  expect_cors(out.response);
}

TEST_F(RouterTest, OptionsIsPreflightOnAnyPath) {
  for (const char* path : {"/_matrix/client/versions", "/does/not/exist"}) {
    auto out = call(router, Method::options, path);
    EXPECT_EQ(out.response.status, 204);
    EXPECT_TRUE(out.response.body.empty());
    expect_cors(out.response);
  }
}

TEST(Router, ThrowingHandlersBecomeMatrixErrors) {
  Router router;
  router.add(Method::get, "/forbidden",
             [](Request&, Respond) { throw MatrixError(Errc::forbidden, "nope"); });
  router.add(Method::get, "/limited", [](Request&, Respond) { throw limit_exceeded(1500); });
  router.add(Method::get, "/bug", [](Request&, Respond) { throw std::logic_error("oops"); });
  router.add(Method::get, "/weird", [](Request&, Respond) { throw 42; });

  auto forbidden = call(router, Method::get, "/forbidden");
  EXPECT_EQ(forbidden.response.status, 403);
  EXPECT_EQ(errcode(forbidden.response), "M_FORBIDDEN");
  expect_cors(forbidden.response);

  auto limited = call(router, Method::get, "/limited");
  EXPECT_EQ(limited.response.status, 429);
  EXPECT_EQ(header(limited.response, "Retry-After"), "2");
  EXPECT_EQ(boost::json::parse(limited.response.body).at("retry_after_ms").as_int64(), 1500);

  for (const char* path : {"/bug", "/weird"}) {
    auto bug = call(router, Method::get, path);
    EXPECT_EQ(bug.response.status, 500);
    EXPECT_EQ(bug.response.body, R"({"errcode":"M_UNKNOWN","error":"Internal server error"})");
    expect_cors(bug.response);
  }
}

TEST(Router, RespondFiresOnlyOnce) {
  Router router;
  router.add(Method::get, "/twice", [](Request&, Respond respond) {
    respond(Response::json(200, "{}"));
    respond(Response::json(201, "{}"));
  });
  router.add(Method::get, "/answer-then-throw", [](Request&, Respond respond) {
    respond(Response::json(200, "{}"));
    throw std::runtime_error("late failure");
  });
  auto twice = call(router, Method::get, "/twice");  // call() checks exactly one call
  EXPECT_EQ(twice.response.status, 200);
  auto thrown = call(router, Method::get, "/answer-then-throw");
  EXPECT_EQ(thrown.response.status, 200);
}

TEST(Router, RespondMayBeCalledLater) {
  Router router;
  Respond parked;
  router.add(Method::get, "/later", [&parked](Request&, Respond respond) { parked = respond; });
  Request request;
  request.path = "/later";
  int calls = 0;
  Response got;
  router.dispatch(request, [&](Response r) {
    ++calls;
    got = std::move(r);
  });
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(parked);
  parked(Response::json(202, "{}"));
  parked(Response::json(500, "{}"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.status, 202);
  expect_cors(got);
}

TEST(Router, RejectsBadPatterns) {
  Router router;
  EXPECT_THROW(router.add(Method::get, "no/slash", echo_params()), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "/a/{x?}/b", echo_params()), std::invalid_argument);
  EXPECT_THROW(router.add(Method::get, "/a/{}", echo_params()), std::invalid_argument);
}

TEST(Http, RequestAccessors) {
  Request request;
  request.headers = {{"authorization", "Bearer x"}, {"content-type", "application/json"}};
  request.query.emplace("limit", "10");
  request.query.emplace("limit", "20");
  EXPECT_EQ(request.header("authorization"), "Bearer x");
  EXPECT_EQ(request.header("Content-Type"), "application/json");
  EXPECT_FALSE(request.header("x-missing"));
  EXPECT_EQ(request.query_param("limit"), "10");
  EXPECT_FALSE(request.query_param("from"));
  EXPECT_EQ(method_name(Method::del), "DELETE");
}

TEST(Http, ErrorResponseFromExceptionPtr) {
  auto r = error_response(std::make_exception_ptr(MatrixError(Errc::not_found, "gone")));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(errcode(r), "M_NOT_FOUND");
  EXPECT_EQ(error_response(std::make_exception_ptr(std::bad_alloc())).status, 500);
  EXPECT_EQ(error_response_from_current_exception().status, 500);  // none in flight
}

}  // namespace
}  // namespace atrium::net
