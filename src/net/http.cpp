#include "net/http.hpp"

#include <exception>
#include <stdexcept>

#include "base/error.hpp"
#include "base/log.hpp"
#include "net/detail_logfmt.hpp"

namespace atrium::net {

namespace {

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Response internal_error() {
  return Response::json(500, R"({"errcode":"M_UNKNOWN","error":"Internal server error"})");
}

}  // namespace

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::del:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::patch:
      return "PATCH";
    case Method::other:
      break;
  }
  return "OTHER";
}

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  // Names are stored lower-cased; comparing case-insensitively also forgives
  // a caller that passes "Authorization".
  for (const auto& [name, value] : headers) {
    if (equals_ignore_case(name, lower_name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

const std::string& Request::param(std::string_view name) const {
  auto it = params.find(name);
  if (it == params.end()) {
    throw std::out_of_range("no path parameter '" + std::string(name) + "'");
  }
  return it->second;
}

Response error_response_from_current_exception() {
  if (!std::current_exception()) return internal_error();
  try {
    throw;
  } catch (const MatrixError& e) {
    Response response = Response::json(e.http_status(), e.to_json());
    if (e.retry_after_ms) {
      int64_t ms = *e.retry_after_ms < 0 ? 0 : *e.retry_after_ms;
      response.headers.emplace_back("Retry-After", std::to_string((ms + 999) / 1000));
    }
    return response;
  } catch (const std::exception& e) {
    log::get("http")->error("msg=\"unhandled exception\" what={}", detail::logfmt_quote(e.what()));
    return internal_error();
  } catch (...) {
    log::get("http")->error("msg=\"unhandled exception\" what=\"non-standard exception\"");
    return internal_error();
  }
}

Response error_response(std::exception_ptr e) {
  if (!e) return internal_error();
  try {
    std::rethrow_exception(e);
  } catch (...) {
    return error_response_from_current_exception();
  }
}

}  // namespace atrium::net
