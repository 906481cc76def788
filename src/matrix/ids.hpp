#pragma once
// Matrix identifiers (spec appendix "Identifier Grammar").
#include <string>
#include <string_view>

namespace atrium::matrix {

// server_name = hostname [":" port]; hostname = IPv4 / "[" IPv6 "]" / DNS name.
bool is_valid_server_name(std::string_view s);
// @localpart:server, at most 255 bytes; localpart may use the historical
// (printable ASCII except ':') grammar.
bool is_valid_user_id(std::string_view s);
// The strict grammar for new users: [a-z0-9._=\-/+]+, non-empty.
bool is_valid_new_localpart(std::string_view s);
bool is_valid_room_id(std::string_view s);     // !opaque:server
bool is_valid_room_alias(std::string_view s);  // #alias:server
bool is_valid_event_id(std::string_view s);    // $ followed by at least one char

// Part after the first ':' (empty if none); for user ids, room ids, aliases.
std::string_view server_name_of(std::string_view id);
// Part between the sigil and the first ':'.
std::string_view localpart_of(std::string_view id);

}  // namespace atrium::matrix
