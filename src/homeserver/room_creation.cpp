// RoomService::create_room: POST /createRoom, all initial events in one
// durable write.
#include <set>

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/random.hpp"
#include "homeserver/rooms.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

namespace {

json::object default_power_levels(const std::string& creator, bool private_preset) {
  json::object events{{"m.room.name", 50},
                      {"m.room.power_levels", 100},
                      {"m.room.history_visibility", 100},
                      {"m.room.canonical_alias", 50},
                      {"m.room.avatar", 50},
                      {"m.room.tombstone", 100},
                      {"m.room.server_acl", 100},
                      {"m.room.encryption", 100},
                      // MatrixRTC: every member announces its own call membership.
                      {"org.matrix.msc3401.call.member", 0}};
  return json::object{{"users", json::object{{creator, 100}}},
                      {"users_default", 0},
                      {"events", std::move(events)},
                      {"events_default", 0},
                      {"state_default", 50},
                      {"ban", 50},
                      {"kick", 50},
                      {"redact", 50},
                      {"invite", private_preset ? 0 : 50},
                      {"notifications", json::object{{"room", 50}}}};
}

// Shallow merge at the top level, as the spec's power_level_content_override.
void merge_into(json::object& base, const json::object& override_) {
  for (const auto& [k, v] : override_)
    base[k] = v;
}

}  // namespace

void RoomService::create_room(const Requester& who, json::object body, JsonCompletion done) {
  auto version_id =
      matrix::get_string(body, "room_version").value_or(std::string(matrix::kDefaultRoomVersion));
  const auto* version = matrix::find_room_version(version_id);
  if (!version)
    throw MatrixError(Errc::unsupported_room_version,
                      "Room version '" + version_id + "' is not supported");

  auto visibility = matrix::get_string(body, "visibility").value_or("private");
  if (visibility != "public" && visibility != "private")
    throw MatrixError(Errc::bad_json, "visibility must be 'public' or 'private'");
  auto preset = matrix::get_string(body, "preset")
                    .value_or(visibility == "public" ? "public_chat" : "private_chat");
  if (preset != "private_chat" && preset != "public_chat" && preset != "trusted_private_chat")
    throw MatrixError(Errc::bad_json, "Unknown preset '" + preset + "'");

  auto name = matrix::get_string(body, "name");
  auto topic = matrix::get_string(body, "topic");
  bool is_direct = matrix::get_bool(body, "is_direct").value_or(false);
  std::optional<std::string> alias;
  if (auto alias_name = matrix::get_string(body, "room_alias_name")) {
    alias = "#" + *alias_name + ":" + config_.server_name;
    if (alias_name->empty() || alias_name->find_first_of(": \t\n#") != std::string::npos ||
        !matrix::is_valid_room_alias(*alias))
      throw MatrixError(Errc::invalid_param, "Invalid room_alias_name");
  }

  std::vector<std::string> invites;
  if (const json::array* list = matrix::get_array(body, "invite")) {
    for (const auto& v : *list) {
      if (!v.is_string() || !matrix::is_valid_user_id(v.as_string()))
        throw MatrixError(Errc::invalid_param, "invite must list valid user ids");
      invites.emplace_back(v.as_string());
    }
  }

  // initial_state entries, validated before anything is written.
  std::vector<json::object> initial_state;
  std::set<std::pair<std::string, std::string>> initial_keys;
  if (const json::array* list = matrix::get_array(body, "initial_state")) {
    for (const auto& v : *list) {
      if (!v.is_object())
        throw MatrixError(Errc::bad_json, "initial_state entries must be objects");
      const auto& o = v.as_object();
      auto type = matrix::require_string(o, "type");
      auto key = matrix::get_string(o, "state_key").value_or("");
      const auto& content = matrix::require_object(o, "content");
      initial_keys.emplace(type, key);
      initial_state.push_back(
          json::object{{"type", type}, {"state_key", key}, {"content", content}});
    }
  }
  json::object creation_content;
  if (const json::object* cc = matrix::get_object(body, "creation_content")) creation_content = *cc;
  json::object pl_override;
  if (const json::object* o = matrix::get_object(body, "power_level_content_override"))
    pl_override = *o;

  std::string room_id = "!" + random_letters(18) + ":" + config_.server_name;
  std::string creator = who.user_id;
  std::string version_str(version->id);

  store_.write(
      [=, this](store::Writer& w) {
        for (const auto& invitee : invites)
          if (!w.user(invitee)) throw MatrixError(Errc::not_found, "Unknown user " + invitee);
        if (alias && w.alias_target(*alias))
          throw MatrixError(Errc::room_in_use, "Room alias already taken");

        store::Room room{room_id, version_str, creator, now_ms()};
        w.insert_room(room);
        auto state = [&](std::string type, std::string key, json::object content) {
          append(w, room,
                 json::object{{"type", std::move(type)},
                              {"state_key", std::move(key)},
                              {"sender", creator},
                              {"content", std::move(content)}});
        };
        auto unless_initial = [&](const std::string& type, json::object content) {
          if (!initial_keys.count({type, ""})) state(type, "", std::move(content));
        };

        json::object create = creation_content;
        create["room_version"] = version_str;
        if (!version->v11_rules)
          create["creator"] = creator;
        else
          create.erase("creator");
        state("m.room.create", "", std::move(create));
        state("m.room.member", creator, member_content(w, creator, "join"));

        bool private_preset = preset != "public_chat";
        json::object pl = default_power_levels(creator, private_preset);
        if (preset == "trusted_private_chat")
          for (const auto& invitee : invites)
            pl["users"].as_object()[invitee] = 100;
        merge_into(pl, pl_override);
        state("m.room.power_levels", "", std::move(pl));

        if (alias) {
          w.insert_alias(*alias, room_id, creator);
          state("m.room.canonical_alias", "", json::object{{"alias", *alias}});
        }
        unless_initial("m.room.join_rules",
                       json::object{{"join_rule", private_preset ? "invite" : "public"}});
        unless_initial("m.room.history_visibility", json::object{{"history_visibility", "shared"}});
        unless_initial("m.room.guest_access",
                       json::object{{"guest_access", private_preset ? "can_join" : "forbidden"}});
        for (const auto& ev : initial_state)
          state(std::string(ev.at("type").as_string()), std::string(ev.at("state_key").as_string()),
                ev.at("content").as_object());
        if (name) state("m.room.name", "", json::object{{"name", *name}});
        if (topic)
          state("m.room.topic", "",
                json::object{{"topic", *topic},
                             {"m.topic", json::array{json::object{{"body", *topic},
                                                                  {"mimetype", "text/plain"}}}}});
        for (const auto& invitee : invites) {
          json::object content{{"membership", "invite"}};
          if (is_direct) content["is_direct"] = true;
          append(w, room,
                 json::object{{"type", "m.room.member"},
                              {"state_key", invitee},
                              {"sender", creator},
                              {"content", std::move(content)}});
        }
      },
      [room_id, done](std::exception_ptr e) {
        done(e, json::object{{"room_id", room_id}});
      });
}

}  // namespace atrium::homeserver
