#pragma once
// Types shared by the homeserver services.
#include <boost/json.hpp>

#include <exception>
#include <functional>
#include <string>

namespace atrium::homeserver {

namespace json = boost::json;

// Who is making a request, from their access token.
struct Requester {
  std::string user_id;
  std::string device_id;
  std::string access_token;
};

// Asynchronous result of a service call: exactly one of error / value.
template <typename T>
using Completion = std::function<void(std::exception_ptr, T)>;

using JsonCompletion = Completion<json::object>;

}  // namespace atrium::homeserver
