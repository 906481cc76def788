#pragma once
// net-internal: the io_context behind an HttpServer, for the other Asio users
// of this library (the HTTP client). Not for services: they see Scheduler.
#include <boost/asio/io_context.hpp>

#include "net/server.hpp"

namespace atrium::net::detail {

struct IoContextAccess {
  static boost::asio::io_context& of(HttpServer& server);  // defined in server.cpp
};

}  // namespace atrium::net::detail
