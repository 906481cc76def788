#include "homeserver/e2ee.hpp"

#include "base/error.hpp"
#include "homeserver/client_event.hpp"
#include "matrix/canonical_json.hpp"
#include "matrix/ids.hpp"
#include "matrix/json.hpp"

namespace atrium::homeserver {

namespace {

// The part of a cross-signing key object others sign: its first public key.
std::string key_public_part(const json::object& key) {
  if (auto* keys = key.if_contains("keys"); keys && keys->is_object())
    for (const auto& [id, value] : keys->as_object())
      if (value.is_string()) return std::string(value.as_string());
  return {};
}

void require_object_map(const json::value& v, const char* what) {
  if (!v.is_object()) throw MatrixError(Errc::bad_json, std::string(what) + " must be an object");
}

}  // namespace

std::set<std::string> E2eeService::users_sharing_rooms(store::Reader& r,
                                                       const std::string& user_id) {
  std::set<std::string> users{user_id};
  for (const auto& m : r.memberships_of_user(user_id)) {
    if (m.membership != "join") continue;
    for (const auto& other : r.room_members(m.room_id))
      if (other.membership == "join" || other.membership == "invite") users.insert(other.user_id);
  }
  return users;
}

json::object E2eeService::with_signatures(store::Reader& r, const std::string& user_id,
                                          const std::string& target_id,
                                          const std::string& stored_json) {
  json::object key = json::parse(stored_json).as_object();
  auto extra = r.key_signatures(user_id, target_id);
  if (extra.empty()) return key;
  auto& sigs = key["signatures"];
  if (!sigs.is_object()) sigs = json::object{};
  for (const auto& [signer, key_id, signature] : extra) {
    auto& by_signer = sigs.as_object()[signer];
    if (!by_signer.is_object()) by_signer = json::object{};
    by_signer.as_object()[key_id] = signature;
  }
  return key;
}

void E2eeService::upload_keys(const Requester& who, json::object body, JsonCompletion done) {
  std::optional<std::string> device_keys;
  if (auto* dk = body.if_contains("device_keys"); dk && !dk->is_null()) {
    require_object_map(*dk, "device_keys");
    const auto& o = dk->as_object();
    if (matrix::get_string(o, "user_id").value_or("") != who.user_id ||
        matrix::get_string(o, "device_id").value_or("") != who.device_id)
      throw MatrixError(Errc::invalid_param, "device_keys must be for the requesting device");
    if (!matrix::get_object(o, "keys") || !matrix::get_array(o, "algorithms"))
      throw MatrixError(Errc::bad_json, "device_keys needs 'keys' and 'algorithms'");
    device_keys = matrix::canonical_json(o);
  }
  auto key_map = [&](const char* field) {
    std::vector<std::pair<std::string, std::string>> out;
    if (auto* v = body.if_contains(field); v && !v->is_null()) {
      require_object_map(*v, field);
      for (const auto& [key_id, key] : v->as_object()) {
        auto colon = key_id.find(':');
        if (colon == json::string_view::npos || colon == 0 || colon + 1 == key_id.size())
          throw MatrixError(Errc::bad_json, "key ids must look like 'algorithm:id'");
        out.emplace_back(std::string(key_id), json::serialize(key));
      }
    }
    return out;
  };
  auto one_time = key_map("one_time_keys");
  auto fallback = key_map("fallback_keys");
  if (fallback.empty()) fallback = key_map("org.matrix.msc2732.fallback_keys");

  auto counts = std::make_shared<json::object>();
  store_.write(
      [this, who, device_keys, one_time, fallback, counts](store::Writer& w) {
        if (device_keys) {
          auto existing = w.device_keys(who.user_id, who.device_id);
          if (existing != device_keys) {
            w.put_device_keys(who.user_id, who.device_id, *device_keys);
            w.add_device_list_change(who.user_id);
            auto wake = users_sharing_rooms(w, who.user_id);
            w.after_commit([this, wake] {
              notifier_.notify(std::vector<std::string>(wake.begin(), wake.end()));
            });
          }
        }
        for (const auto& [id, key] : one_time)
          if (!w.put_one_time_key(who.user_id, who.device_id, id, key))
            throw MatrixError(Errc::invalid_param, "One-time key " + id + " already exists");
        for (const auto& [id, key] : fallback)
          w.put_fallback_key(who.user_id, who.device_id, id, key);
        for (const auto& [alg, n] : w.one_time_key_counts(who.user_id, who.device_id))
          (*counts)[alg] = n;
      },
      [counts, done](std::exception_ptr e) {
        done(e, json::object{{"one_time_key_counts", *counts}});
      });
}

json::object E2eeService::query_keys(const Requester& who, const json::object& body) {
  const json::object* wanted = matrix::get_object(body, "device_keys");
  if (!wanted) throw MatrixError(Errc::bad_json, "missing field 'device_keys'");
  auto r = store_.read();
  json::object device_keys, master, self_signing, user_signing, failures;
  for (const auto& [user_v, devices_v] : *wanted) {
    std::string user(user_v);
    if (!matrix::is_valid_user_id(user))
      throw MatrixError(Errc::invalid_param, "Bad user id " + user);
    if (!devices_v.is_array()) throw MatrixError(Errc::bad_json, "device lists must be arrays");
    std::set<std::string> only;
    for (const auto& d : devices_v.as_array()) {
      if (!d.is_string()) throw MatrixError(Errc::bad_json, "device ids must be strings");
      only.emplace(d.as_string());
    }
    json::object devices;
    for (const auto& [device_id, keys_json] : r->devices_keys(user)) {
      if (!only.empty() && !only.count(device_id)) continue;
      json::object key = with_signatures(*r, user, device_id, keys_json);
      if (auto device = r->device(user, device_id); device && !device->display_name.empty())
        key["unsigned"] = json::object{{"device_display_name", device->display_name}};
      devices[device_id] = std::move(key);
    }
    device_keys[user] = std::move(devices);
    auto add_cross = [&](const char* type, json::object& into) {
      if (auto stored = r->cross_signing_key(user, type)) {
        auto parsed = json::parse(*stored).as_object();
        into[user] = with_signatures(*r, user, key_public_part(parsed), *stored);
      }
    };
    add_cross("master", master);
    add_cross("self_signing", self_signing);
    if (user == who.user_id) add_cross("user_signing", user_signing);
  }
  return json::object{{"device_keys", std::move(device_keys)},
                      {"master_keys", std::move(master)},
                      {"self_signing_keys", std::move(self_signing)},
                      {"user_signing_keys", std::move(user_signing)},
                      {"failures", std::move(failures)}};
}

void E2eeService::claim_keys(const Requester&, json::object body, JsonCompletion done) {
  const json::object* wanted = matrix::get_object(body, "one_time_keys");
  if (!wanted) throw MatrixError(Errc::bad_json, "missing field 'one_time_keys'");
  std::vector<std::tuple<std::string, std::string, std::string>> claims;
  for (const auto& [user, devices] : *wanted) {
    require_object_map(devices, "one_time_keys entries");
    for (const auto& [device, algorithm] : devices.as_object()) {
      if (!algorithm.is_string()) throw MatrixError(Errc::bad_json, "algorithms must be strings");
      claims.emplace_back(std::string(user), std::string(device),
                          std::string(algorithm.as_string()));
    }
  }
  auto result = std::make_shared<json::object>();
  store_.write(
      [claims, result](store::Writer& w) {
        for (const auto& [user, device, algorithm] : claims) {
          auto key = w.claim_key(user, device, algorithm);
          if (!key) continue;
          auto& by_user = (*result)[user];
          if (!by_user.is_object()) by_user = json::object{};
          by_user.as_object()[device] = json::object{{key->key_id, json::parse(key->key_json)}};
        }
      },
      [result, done](std::exception_ptr e) {
        done(e, json::object{{"one_time_keys", *result}, {"failures", json::object{}}});
      });
}

json::object E2eeService::device_list_delta(store::Reader& r, const std::string& user_id,
                                            int64_t from, int64_t to) {
  std::set<std::string> changed, left;
  auto key_changes = r.device_list_changes(from, to);
  auto member_changes = r.membership_changes(from, to);
  if (key_changes.empty() && member_changes.empty())  // the common case of a sync
    return json::object{{"changed", json::array{}}, {"left", json::array{}}};
  auto sharing = users_sharing_rooms(r, user_id);
  for (const auto& user : key_changes)
    if (sharing.count(user)) changed.insert(user);
  // A new room-mate's devices are news too; a departed one's are not ours to track.
  for (const auto& m : member_changes) {
    if (m.membership == "join" && sharing.count(m.user_id) && m.user_id != user_id)
      changed.insert(m.user_id);
    if ((m.membership == "leave" || m.membership == "ban") && !sharing.count(m.user_id))
      left.insert(m.user_id);
  }
  json::array changed_json, left_json;
  for (const auto& u : changed)
    changed_json.emplace_back(u);
  for (const auto& u : left)
    left_json.emplace_back(u);
  return json::object{{"changed", std::move(changed_json)}, {"left", std::move(left_json)}};
}

json::object E2eeService::key_changes(const Requester& who, int64_t from, int64_t to) {
  auto r = store_.read();
  return device_list_delta(*r, who.user_id, from, to);
}

void E2eeService::upload_cross_signing(const Requester& who, json::object body,
                                       Completion<net::Response> done) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const char* type : {"master_key", "self_signing_key", "user_signing_key"}) {
    if (auto* v = body.if_contains(type); v && !v->is_null()) {
      require_object_map(*v, type);
      const auto& o = v->as_object();
      if (matrix::get_string(o, "user_id").value_or("") != who.user_id)
        throw MatrixError(Errc::invalid_param, std::string(type) + " is for another user");
      if (!matrix::get_object(o, "keys") || !matrix::get_array(o, "usage"))
        throw MatrixError(Errc::bad_json, std::string(type) + " needs 'keys' and 'usage'");
      std::string name(type);
      keys.emplace_back(name.substr(0, name.size() - 4), matrix::canonical_json(o));
    }
  }
  store_.write(
      [this, who, keys](store::Writer& w) {
        // A first upload needs no password (MSC3967); replacing a master key
        // should, but clients reset keys rarely and we hold no secrets: allow
        // it only when the new key equals the old or none exists.
        for (const auto& [type, json_text] : keys) {
          if (type == "master")
            if (auto existing = w.cross_signing_key(who.user_id, "master");
                existing && *existing != json_text)
              throw MatrixError(Errc::forbidden,
                                "Replacing the master cross-signing key is not supported");
          w.put_cross_signing_key(who.user_id, type, json_text);
        }
        if (!keys.empty()) {
          w.add_device_list_change(who.user_id);
          auto wake = users_sharing_rooms(w, who.user_id);
          w.after_commit([this, wake] {
            notifier_.notify(std::vector<std::string>(wake.begin(), wake.end()));
          });
        }
      },
      [done](std::exception_ptr e) { done(e, net::Response::json(200, "{}")); });
}

void E2eeService::upload_signatures(const Requester& who, json::object body, JsonCompletion done) {
  // {target_user: {target_id: signed object}}: keep the uploader's signatures.
  std::vector<std::tuple<std::string, std::string, std::string, std::string>> sigs;
  for (const auto& [target_user, objects] : body) {
    require_object_map(objects, "signature upload entries");
    for (const auto& [target_id, object] : objects.as_object()) {
      require_object_map(object, "signed objects");
      auto* signatures = object.as_object().if_contains("signatures");
      if (!signatures || !signatures->is_object()) continue;
      auto* mine = signatures->as_object().if_contains(who.user_id);
      if (!mine || !mine->is_object()) continue;
      for (const auto& [key_id, signature] : mine->as_object())
        if (signature.is_string())
          sigs.emplace_back(std::string(target_user), std::string(target_id), std::string(key_id),
                            std::string(signature.as_string()));
    }
  }
  store_.write(
      [this, who, sigs](store::Writer& w) {
        std::set<std::string> changed;
        for (const auto& [target_user, target_id, key_id, signature] : sigs) {
          w.put_key_signature(who.user_id, key_id, target_user, target_id, signature);
          changed.insert(target_user);
        }
        std::set<std::string> wake;
        for (const auto& user : changed) {
          w.add_device_list_change(user);
          auto sharing = users_sharing_rooms(w, user);
          wake.insert(sharing.begin(), sharing.end());
        }
        w.after_commit(
            [this, wake] { notifier_.notify(std::vector<std::string>(wake.begin(), wake.end())); });
      },
      [done](std::exception_ptr e) {
        done(e, json::object{{"failures", json::object{}}});
      });
}

void E2eeService::send_to_device(const Requester& who, const std::string& type,
                                 const std::string& txn_id, json::object body,
                                 JsonCompletion done) {
  const json::object* messages = matrix::get_object(body, "messages");
  if (!messages) throw MatrixError(Errc::bad_json, "missing field 'messages'");
  if (type.empty() || type.size() > 255) throw MatrixError(Errc::invalid_param, "Bad event type");
  std::vector<std::tuple<std::string, std::string, std::string>> out;  // user, device, content
  for (const auto& [user, devices] : *messages) {
    if (!matrix::is_valid_user_id(user))
      throw MatrixError(Errc::invalid_param, "'" + std::string(user) + "' is not a valid user id");
    require_object_map(devices, "messages entries");
    for (const auto& [device, content] : devices.as_object()) {
      if (!content.is_object())
        throw MatrixError(Errc::bad_json, "message content must be an object");
      out.emplace_back(std::string(user), std::string(device), json::serialize(content));
    }
  }
  std::string txn_key = "to_device:" + type + ":" + txn_id;
  store_.write(
      [this, who, type, txn_key, out](store::Writer& w) {
        if (w.txn_event(who.user_id, who.device_id, txn_key)) return;  // a retry
        w.insert_txn(who.user_id, who.device_id, txn_key, "");
        std::set<std::string> wake;
        for (const auto& [user, device, content] : out) {
          // Unknown users and devices are skipped, as other servers do: the
          // sender may hold a stale device list.
          std::vector<std::string> targets;
          if (device == "*") {
            for (const auto& d : w.devices(user))
              targets.push_back(d.device_id);
          } else if (w.device(user, device)) {
            targets.push_back(device);
          }
          for (const auto& target : targets) {
            w.queue_to_device(user, target, who.user_id, type, content);
            wake.insert(user);
          }
        }
        w.after_commit(
            [this, wake] { notifier_.notify(std::vector<std::string>(wake.begin(), wake.end())); });
      },
      [done](std::exception_ptr e) { done(e, json::object{}); });
}

}  // namespace atrium::homeserver
