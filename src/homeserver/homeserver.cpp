#include "homeserver/homeserver.hpp"

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/encoding.hpp"
#include "base/random.hpp"
#include "homeserver/routes/routes.hpp"

namespace atrium::homeserver {

Homeserver::Homeserver(const Config& config_, store::Store& store_, matrix::SigningKey key,
                       net::Scheduler& scheduler)
    : config(config_),
      store(store_),
      signing_key(std::move(key)),
      notifier(scheduler),
      accounts(config_, store_, blocking),
      rooms(config_, store_, signing_key, notifier),
      typing(store_, notifier, scheduler),
      user_data(config_, store_, notifier, rooms),
      sync(store_, notifier, typing),
      delayed(config_, store_, rooms, scheduler),
      e2ee(store_, notifier),
      relations(store_),
      push_rules(store_, notifier),
      pushers(store_, scheduler),
      notifications(store_, push_rules, pushers) {
  rooms.set_append_hook([this](store::Writer& w, const store::Room& room, const store::Event& event,
                               const json::object& pdu,
                               const std::vector<store::Membership>& members) {
    notifications.on_appended(w, room, event, pdu, members);
  });
  delayed.start();
}

void Homeserver::register_routes(net::Router& router) {
  routes::add_misc_routes(router, *this);
  routes::add_account_routes(router, *this);
  routes::add_room_routes(router, *this);
  routes::add_sync_routes(router, *this);
  routes::add_rtc_routes(router, *this);
  routes::add_e2ee_routes(router, *this);
  routes::add_relation_routes(router, *this);
  routes::add_push_routes(router, *this);
}

matrix::SigningKey load_or_create_signing_key(const std::string& path) {
  // File format (as Synapse's): "ed25519 <version> <base64 seed>".
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string alg, version, seed_b64;
    in >> alg >> version >> seed_b64;
    auto seed = base64_decode(seed_b64);
    if (alg != "ed25519" || version.empty() || !seed || seed->size() != 32)
      throw std::runtime_error("signing key file '" + path + "' is malformed");
    return matrix::SigningKey::from_seed(std::string(seed->begin(), seed->end()), version);
  }
  auto key = matrix::SigningKey::generate("a_" + random_letters(4));
  std::string seed = key.seed();
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "ed25519 " << key.version() << " " << base64_encode(std::string_view(seed)) << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write signing key to '" + tmp + "'");
  }
  std::filesystem::permissions(
      tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::rename(tmp, path);
  return key;
}

}  // namespace atrium::homeserver
