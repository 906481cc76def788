#pragma once
// The composition root of the homeserver role: builds the services in
// dependency order and registers the Client-Server API routes.
#include <memory>

#include "base/config.hpp"
#include "base/thread_pool.hpp"
#include "homeserver/accounts.hpp"
#include "homeserver/delayed_events.hpp"
#include "homeserver/e2ee.hpp"
#include "homeserver/notifications.hpp"
#include "homeserver/notifier.hpp"
#include "homeserver/push_rules.hpp"
#include "homeserver/pushers.hpp"
#include "homeserver/relations.hpp"
#include "homeserver/rooms.hpp"
#include "homeserver/sync.hpp"
#include "homeserver/user_data.hpp"
#include "matrix/event.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "store/store.hpp"

namespace atrium::homeserver {

class Homeserver {
 public:
  Homeserver(const Config& config, store::Store& store, matrix::SigningKey key,
             net::Scheduler& scheduler);

  void register_routes(net::Router& router);
  // Answers parked long-polls; called when the server starts shutting down.
  void shutdown() { notifier.shutdown(); }
  // The outgoing HTTP client pushers deliver through; until set, pushes wait.
  void set_http_client(net::HttpClient* client) { pushers.set_http_client(client); }

  const Config& config;
  store::Store& store;
  matrix::SigningKey signing_key;
  ThreadPool blocking{2};
  Notifier notifier;
  AccountService accounts;
  RoomService rooms;
  TypingService typing;
  UserDataService user_data;
  SyncService sync;
  DelayedEventService delayed;
  E2eeService e2ee;
  RelationService relations;
  PushRuleService push_rules;
  PusherService pushers;
  NotificationService notifications;  // fed by rooms' append hook
};

// Loads the server's ed25519 signing key from `path`, creating it on first start.
matrix::SigningKey load_or_create_signing_key(const std::string& path);

}  // namespace atrium::homeserver
