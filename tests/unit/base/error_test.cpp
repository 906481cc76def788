#include "base/error.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace atrium {
namespace {

TEST(MatrixError, CarriesErrcodeAndStatus) {
  MatrixError e(Errc::forbidden, "no");
  EXPECT_EQ(e.code(), "M_FORBIDDEN");
  EXPECT_EQ(e.http_status(), 403);
  auto body = boost::json::parse(e.to_json()).as_object();
  EXPECT_EQ(body.at("errcode").as_string(), "M_FORBIDDEN");
  EXPECT_EQ(body.at("error").as_string(), "no");
  EXPECT_FALSE(body.contains("retry_after_ms"));
}

TEST(MatrixError, TableStatuses) {
  EXPECT_EQ(errc_info(Errc::unknown_token).http_status, 401);
  EXPECT_EQ(errc_info(Errc::missing_token).http_status, 401);
  EXPECT_EQ(errc_info(Errc::not_found).http_status, 404);
  EXPECT_EQ(errc_info(Errc::unrecognized).http_status, 404);
  EXPECT_EQ(errc_info(Errc::method_not_allowed).code, "M_UNRECOGNIZED");
  EXPECT_EQ(errc_info(Errc::method_not_allowed).http_status, 405);
  EXPECT_EQ(errc_info(Errc::too_large).http_status, 413);
  EXPECT_EQ(errc_info(Errc::limit_exceeded).http_status, 429);
  EXPECT_EQ(errc_info(Errc::user_in_use).code, "M_USER_IN_USE");
}

TEST(MatrixError, LimitExceededCarriesRetryAfter) {
  auto e = limit_exceeded(1234);
  auto body = boost::json::parse(e.to_json()).as_object();
  EXPECT_EQ(body.at("errcode").as_string(), "M_LIMIT_EXCEEDED");
  EXPECT_EQ(body.at("retry_after_ms").as_int64(), 1234);
  EXPECT_EQ(e.http_status(), 429);
}

}  // namespace
}  // namespace atrium
