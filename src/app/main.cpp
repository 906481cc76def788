// The `atrium` command: `serve` runs the server roles, `register-user`
// creates an account for admins, `verify-token` checks a LiveKit token.
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>

#include "app/auth_role.hpp"
#include "app/rtc_adapters.hpp"
#include "app/sfu_role.hpp"
#include "base/config.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "homeserver/homeserver.hpp"
#include "livekit/token.hpp"
#include "matrix/ids.hpp"
#include "net/http_client.hpp"
#include "net/server.hpp"
#include "net/static_files.hpp"
#include "store/store.hpp"

namespace {

using atrium::Config;

struct Overrides {
  std::string config_path;
  std::string server_name;
  std::string listen;
  std::string data_dir;
  std::string web_root;
  std::optional<int> rtc_udp_port, rtc_tcp_port;
};

void add_common_flags(CLI::App* cmd, Overrides& o) {
  cmd->add_option("--config", o.config_path, "YAML configuration file");
  cmd->add_option("--server-name", o.server_name, "Matrix server name (default: localhost)");
  cmd->add_option("--data-dir", o.data_dir,
                  "Folder for the database and keys (default: ./atrium-data)");
}

Config build_config(const Overrides& o) {
  Config config = o.config_path.empty() ? Config{} : atrium::load_config_file(o.config_path);
  if (!o.server_name.empty()) config.server_name = o.server_name;
  if (!o.listen.empty()) config.listen = o.listen;
  if (!o.data_dir.empty()) config.data_dir = o.data_dir;
  if (!o.web_root.empty()) config.web.root = o.web_root;
  if (o.rtc_udp_port) config.sfu.udp_port = static_cast<uint16_t>(*o.rtc_udp_port);
  if (o.rtc_tcp_port) config.sfu.tcp_port = static_cast<uint16_t>(*o.rtc_tcp_port);
  atrium::validate_config(config);
  return config;
}

std::string database_path(const Config& config) {
  return (std::filesystem::path(config.data_dir) / "homeserver.db").string();
}

// The bundled web apps: web.root, else build/web beside build/bin/atrium.
std::filesystem::path web_root(const Config& config) {
  if (!config.web.root.empty()) return config.web.root;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "web";
  return exe.parent_path().parent_path() / "web";
}

// Which roles `atrium serve` runs (--roles homeserver,auth,sfu; default all).
struct Roles {
  bool homeserver = true;
  bool auth = true;
  bool sfu = true;
};

Roles parse_roles(const std::string& list) {
  Roles roles{false, false, false};
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string role =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (role == "homeserver")
      roles.homeserver = true;
    else if (role == "auth")
      roles.auth = true;
    else if (role == "sfu")
      roles.sfu = true;
    else
      throw std::runtime_error("--roles: unknown role '" + role +
                               "' (known: homeserver, auth, sfu)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!roles.homeserver && !roles.auth && !roles.sfu)
    throw std::runtime_error("--roles: no role given");
  return roles;
}

int serve(Config config, const Roles& roles) {
  atrium::log::init(config.log_level);
  auto log = atrium::log::get("main");
  std::filesystem::create_directories(config.data_dir);

  atrium::net::Router router;
  atrium::net::ServerOptions options;
  options.host = config.listen_host();
  options.port = config.listen_port();
  options.threads = config.http_threads;
  options.max_body_bytes = static_cast<uint64_t>(config.max_request_body);
  options.trusted_proxies = config.trusted_proxies;
  atrium::net::HttpServer server(options, router);
  server.listen();

  std::string url = "http://" + config.listen_host() + ":" + std::to_string(server.bound_port());
  std::string public_base = config.public_baseurl.empty() ? url : config.public_baseurl;
  while (!public_base.empty() && public_base.back() == '/')
    public_base.pop_back();
  // Clients discover the auth service through the homeserver: point at ourselves.
  if (roles.auth && roles.homeserver && config.rtc_transports.empty()) {
    config.rtc_transports.push_back(
        {{"type", "livekit"}, {"livekit_service_url", public_base + "/livekit/jwt"}});
  }

  std::unique_ptr<atrium::store::Store> store;
  std::unique_ptr<atrium::net::HttpClient> push_client;  // outlives the homeserver
  std::unique_ptr<atrium::homeserver::Homeserver> homeserver;
  std::unique_ptr<atrium::app::LocalMatrixVerifier> local_verifier;
  std::unique_ptr<atrium::app::LocalDelayedEventActions> local_actions;
  if (roles.homeserver) {
    store = atrium::store::open_sqlite_store(database_path(config));
    auto key = atrium::homeserver::load_or_create_signing_key(
        (std::filesystem::path(config.data_dir) / "signing.key").string());
    homeserver = std::make_unique<atrium::homeserver::Homeserver>(config, *store, std::move(key),
                                                                  server.scheduler());
    homeserver->register_routes(router);
    push_client = atrium::net::make_http_client(server);  // pushers -> push gateways
    homeserver->set_http_client(push_client.get());
    local_verifier = std::make_unique<atrium::app::LocalMatrixVerifier>(*homeserver);
    local_actions = std::make_unique<atrium::app::LocalDelayedEventActions>(*homeserver);
  } else {
    router.add(atrium::net::Method::get, "/health",
               [](atrium::net::Request&, atrium::net::Respond respond) {
                 atrium::net::Response ok;
                 ok.content_type = "text/plain";
                 ok.body = "OK";
                 respond(std::move(ok));
               });
  }
  std::unique_ptr<atrium::app::AuthRole> auth;
  if (roles.auth) {
    auth = std::make_unique<atrium::app::AuthRole>(config, server, public_base,
                                                   local_verifier.get(), local_actions.get());
    auth->register_routes(router, !roles.homeserver);
    auth->start();
  }

  std::unique_ptr<atrium::app::SfuRole> sfu;
  if (roles.sfu) {
    // In one process the SFU tells our own auth service about joins and
    // leaves (delegated leaves), over loopback rather than the public URL.
    std::vector<std::string> hooks;
    if (roles.auth) {
      std::string host = config.listen_host();
      if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
      if (host == "::") host = "::1";
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      hooks.push_back("http://" + host + ":" + std::to_string(server.bound_port()) +
                      "/livekit/jwt/sfu_webhook");
    }
    sfu = std::make_unique<atrium::app::SfuRole>(config, server, std::move(hooks));
    sfu->register_routes(router, !roles.homeserver && !roles.auth);
  }

  auto apps_root = web_root(config);
  atrium::net::add_static_files(router, "/apps", apps_root);
  router.add(atrium::net::Method::get, "/", atrium::net::redirect_to("/apps/"));
  const bool apps_built = std::filesystem::exists(apps_root / "index.html");
  if (!apps_built)
    log->warn("msg=\"web apps not built; /apps/ answers 404\" web_root={}", apps_root.string());

  log->info("msg=\"listening\" url={} server_name={} data_dir={} registration={} roles={}{}{}", url,
            config.server_name, config.data_dir, config.registration_enabled() ? "open" : "closed",
            roles.homeserver ? "homeserver," : "", roles.auth ? "auth," : "",
            roles.sfu ? "sfu" : "");
  std::cout << "atrium is running: open " << url << " (server name " << config.server_name << ")"
            << std::endl;
  std::cout << "web apps: " << public_base << "/apps/"
            << (apps_built ? "" : " (not built: run scripts/build)") << std::endl;
  server.run([&] {
    if (homeserver) homeserver->shutdown();
    if (auth) auth->shutdown();
    if (sfu) sfu->shutdown();
  });
  sfu.reset();
  if (store) store->close();
  log->info("msg=\"stopped\"");
  return 0;
}

// `atrium verify-token`: the SFU-side parser on the command line. Prints the
// claims as JSON and exits 0, or prints why not and exits 1.
int verify_token(const std::string& key, const std::string& secret, const std::string& token) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto result = atrium::livekit::verify_token(
      token,
      [&](std::string_view k) -> std::optional<std::string> {
        if (k == key) return secret;
        return std::nullopt;
      },
      now);
  if (!result.claims) {
    std::cerr << "atrium: invalid token: " << result.error << "\n";
    return 1;
  }
  std::cout << atrium::livekit::claims_to_json(*result.claims) << "\n";
  return 0;
}

int register_user(const Config& config, const std::string& user, const std::string& password,
                  bool admin) {
  atrium::log::init("warn");
  if (password.empty()) {
    std::cerr << "atrium: --password must not be empty\n";
    return 2;
  }
  std::filesystem::create_directories(config.data_dir);
  auto store = atrium::store::open_sqlite_store(database_path(config));
  atrium::ThreadPool blocking(1);
  atrium::homeserver::AccountService accounts(config, *store, blocking);
  std::string localpart = user;
  if (!user.empty() && user[0] == '@') {
    if (atrium::matrix::server_name_of(user) != config.server_name) {
      std::cerr << "atrium: " << user << " is not on server " << config.server_name << "\n";
      return 2;
    }
    localpart = std::string(atrium::matrix::localpart_of(user));
  }
  std::promise<std::exception_ptr> result;
  try {
    accounts.create_account(
        localpart, password, admin,
        [&](std::exception_ptr e, boost::json::object) { result.set_value(e); });
    if (auto e = result.get_future().get()) std::rethrow_exception(e);
  } catch (const atrium::MatrixError& e) {
    std::cerr << "atrium: cannot register " << user << ": " << e.what() << " (" << e.code()
              << ")\n";
    return 1;
  }
  store->close();
  std::cout << "registered " << accounts.user_id_for(localpart) << (admin ? " (admin)" : "")
            << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"atrium: a MatrixRTC stack (homeserver, RTC auth, SFU) in one binary"};
  app.require_subcommand(1);

  Overrides serve_flags;
  auto* serve_cmd = app.add_subcommand("serve", "Run the server");
  add_common_flags(serve_cmd, serve_flags);
  serve_cmd->add_option("--listen", serve_flags.listen,
                        "HTTP listen address host:port (default: 127.0.0.1:8008)");
  serve_cmd->add_option("--web-root", serve_flags.web_root,
                        "Folder of the web apps served at /apps/ (default: ../web beside bin/)");
  serve_cmd
      ->add_option("--rtc-udp-port", serve_flags.rtc_udp_port,
                   "SFU media UDP port (default 7882; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  serve_cmd
      ->add_option("--rtc-tcp-port", serve_flags.rtc_tcp_port,
                   "SFU ICE-TCP port (default 7881; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  std::string roles = "homeserver,auth,sfu";
  serve_cmd->add_option("--roles", roles,
                        "Comma list of roles: homeserver, auth, sfu (default: all)");

  Overrides reg_flags;
  std::string user, password;
  bool admin = false;
  auto* reg_cmd = app.add_subcommand("register-user", "Create a user account");
  add_common_flags(reg_cmd, reg_flags);
  reg_cmd->add_option("--user", user, "Localpart or full user id")->required();
  reg_cmd->add_option("--password", password, "Password")->required();
  reg_cmd->add_flag("--admin", admin, "Make the user a server admin");

  std::string vt_key, vt_secret, vt_token;
  auto* vt_cmd =
      app.add_subcommand("verify-token", "Verify a LiveKit access token and print its claims");
  vt_cmd->add_option("--key", vt_key, "API key")->required();
  vt_cmd->add_option("--secret", vt_secret, "API secret")->required();
  vt_cmd->add_option("token", vt_token, "The JWT")->required();

  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "atrium 0.1.0\n";
  });

  CLI11_PARSE(app, argc, argv);
  try {
    if (*serve_cmd) return serve(build_config(serve_flags), parse_roles(roles));
    if (*vt_cmd) return verify_token(vt_key, vt_secret, vt_token);
    if (*reg_cmd) return register_user(build_config(reg_flags), user, password, admin);
  } catch (const std::exception& e) {
    std::cerr << "atrium: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
