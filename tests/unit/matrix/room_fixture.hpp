#pragma once
// A room built event by event through finalize_event and check_auth, for the
// authorization-rule tests.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "matrix/auth_rules.hpp"
#include "matrix/event.hpp"

namespace atrium::matrix::testing {

inline constexpr std::string_view kAlice = "@alice:example.org";
inline constexpr std::string_view kBob = "@bob:example.org";
inline constexpr std::string_view kCarol = "@carol:example.org";
inline constexpr std::string_view kDave = "@dave:remote.org";
inline constexpr std::string_view kRoomId = "!room:example.org";

class TestRoom {
 public:
  explicit TestRoom(std::string_view version_id)
      : version_(*find_room_version(version_id)),
        key_(SigningKey::from_seed(std::string(32, '\x01'), "test")) {}

  const RoomVersion& version() const { return version_; }
  const StateMap& state() const { return state_; }
  StateMap& mutable_state() { return state_; }

  // A finalized event whose prev_events is the last accepted event.
  json::object make(std::string_view type, std::string_view sender, json::object content,
                    std::optional<std::string_view> state_key = std::nullopt) {
    json::object event;
    event["type"] = type;
    event["room_id"] = kRoomId;
    event["sender"] = sender;
    event["content"] = std::move(content);
    if (state_key) event["state_key"] = *state_key;
    event["origin_server_ts"] = 1700000000000 + depth_;
    event["depth"] = depth_;
    json::array prev;
    if (!last_event_id_.empty()) prev.emplace_back(last_event_id_);
    event["prev_events"] = std::move(prev);
    event["auth_events"] = json::array{};
    finalize_event(event, "example.org", key_, version_);
    return event;
  }

  AuthResult check(const json::object& event) const { return check_auth(event, state_, version_); }

  // Authorizes the event and, when allowed, makes it current state.
  AuthResult send(const json::object& event) {
    AuthResult result = check(event);
    if (result.allowed) accept(event);
    return result;
  }

  // Adds an event to the room without checking it.
  void accept(const json::object& event) {
    last_event_id_ = compute_event_id(event, version_);
    ++depth_;
    if (auto it = event.find("state_key"); it != event.end()) {
      state_[{std::string(event.at("type").as_string()), std::string(it->value().as_string())}] =
          event;
    }
  }

  json::object create_event(std::string_view sender = kAlice,
                            std::optional<std::string_view> creator = std::nullopt) {
    json::object content{{"room_version", version_.id}};
    if (!version_.v11_rules) content["creator"] = creator ? *creator : sender;
    return make("m.room.create", sender, std::move(content), "");
  }

  json::object member(std::string_view sender, std::string_view target, std::string_view membership,
                      json::object extra = {}) {
    extra["membership"] = membership;
    return make("m.room.member", sender, std::move(extra), target);
  }

  json::object power_levels(std::string_view sender, std::string_view content) {
    return make("m.room.power_levels", sender, json::parse(content).as_object(), "");
  }

  json::object join_rules(std::string_view sender, std::string_view rule) {
    return make("m.room.join_rules", sender, json::object{{"join_rule", rule}}, "");
  }

  // create, creator join, power levels (alice 100, bob 50 when given), join rule.
  void set_up(std::string_view join_rule = "public",
              std::string_view levels = R"({"users": {"@alice:example.org": 100}})") {
    ASSERT_TRUE(send(create_event()).allowed);
    ASSERT_TRUE(send(member(kAlice, kAlice, "join")).allowed);
    ASSERT_TRUE(send(power_levels(kAlice, levels)).allowed);
    ASSERT_TRUE(send(join_rules(kAlice, join_rule)).allowed);
  }

  // Joins `user` through an invite from alice when the room is not public.
  void join(std::string_view user) {
    AuthResult joined = send(member(user, user, "join"));
    if (!joined.allowed) {
      ASSERT_TRUE(send(member(kAlice, user, "invite")).allowed);
      ASSERT_TRUE(send(member(user, user, "join")).allowed) << "joining " << user;
    }
  }

 private:
  const RoomVersion& version_;
  SigningKey key_;
  StateMap state_;
  std::string last_event_id_;
  int64_t depth_ = 1;
};

}  // namespace atrium::matrix::testing
