// The `atrium` command: `serve` runs the server roles, `register-user`
// creates an account for admins.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <future>
#include <iostream>

#include "base/config.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "homeserver/homeserver.hpp"
#include "matrix/ids.hpp"
#include "net/server.hpp"
#include "store/store.hpp"

namespace {

using atrium::Config;

struct Overrides {
  std::string config_path;
  std::string server_name;
  std::string listen;
  std::string data_dir;
};

void add_common_flags(CLI::App* cmd, Overrides& o) {
  cmd->add_option("--config", o.config_path, "YAML configuration file");
  cmd->add_option("--server-name", o.server_name, "Matrix server name (default: localhost)");
  cmd->add_option("--data-dir", o.data_dir, "Folder for the database and keys (default: ./atrium-data)");
}

Config build_config(const Overrides& o) {
  Config config = o.config_path.empty() ? Config{} : atrium::load_config_file(o.config_path);
  if (!o.server_name.empty()) config.server_name = o.server_name;
  if (!o.listen.empty()) config.listen = o.listen;
  if (!o.data_dir.empty()) config.data_dir = o.data_dir;
  atrium::validate_config(config);
  return config;
}

std::string database_path(const Config& config) {
  return (std::filesystem::path(config.data_dir) / "homeserver.db").string();
}

int serve(const Config& config) {
  atrium::log::init(config.log_level);
  auto log = atrium::log::get("main");
  std::filesystem::create_directories(config.data_dir);
  auto store = atrium::store::open_sqlite_store(database_path(config));
  auto key = atrium::homeserver::load_or_create_signing_key(
      (std::filesystem::path(config.data_dir) / "signing.key").string());

  atrium::net::Router router;
  atrium::net::ServerOptions options;
  options.host = config.listen_host();
  options.port = config.listen_port();
  options.threads = config.http_threads;
  options.max_body_bytes = static_cast<uint64_t>(config.max_request_body);
  atrium::net::HttpServer server(options, router);
  server.listen();

  atrium::homeserver::Homeserver homeserver(config, *store, std::move(key), server.scheduler());
  homeserver.register_routes(router);

  std::string url = "http://" + config.listen_host() + ":" + std::to_string(server.bound_port());
  log->info("msg=\"listening\" url={} server_name={} data_dir={} registration={}", url,
            config.server_name, config.data_dir, config.registration_enabled() ? "open" : "closed");
  std::cout << "atrium is running: open " << url << " (server name " << config.server_name << ")"
            << std::endl;
  server.run([&] { homeserver.shutdown(); });
  store->close();
  log->info("msg=\"stopped\"");
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
    accounts.create_account(localpart, password, admin,
                            [&](std::exception_ptr e, boost::json::object) { result.set_value(e); });
    if (auto e = result.get_future().get()) std::rethrow_exception(e);
  } catch (const atrium::MatrixError& e) {
    std::cerr << "atrium: cannot register " << user << ": " << e.what() << " (" << e.code() << ")\n";
    return 1;
  }
  store->close();
  std::cout << "registered " << accounts.user_id_for(localpart) << (admin ? " (admin)" : "") << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"atrium: a MatrixRTC stack (homeserver, RTC auth, SFU) in one binary"};
  app.require_subcommand(1);

  Overrides serve_flags;
  auto* serve_cmd = app.add_subcommand("serve", "Run the server");
  add_common_flags(serve_cmd, serve_flags);
  serve_cmd->add_option("--listen", serve_flags.listen, "HTTP listen address host:port (default: 127.0.0.1:8008)");

  Overrides reg_flags;
  std::string user, password;
  bool admin = false;
  auto* reg_cmd = app.add_subcommand("register-user", "Create a user account");
  add_common_flags(reg_cmd, reg_flags);
  reg_cmd->add_option("--user", user, "Localpart or full user id")->required();
  reg_cmd->add_option("--password", password, "Password")->required();
  reg_cmd->add_flag("--admin", admin, "Make the user a server admin");

  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "atrium 0.1.0\n";
  });

  CLI11_PARSE(app, argc, argv);
  try {
    if (*serve_cmd) return serve(build_config(serve_flags));
    if (*reg_cmd) return register_user(build_config(reg_flags), user, password, admin);
  } catch (const std::exception& e) {
    std::cerr << "atrium: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
