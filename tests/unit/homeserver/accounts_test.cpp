// Access tokens: a token stops authenticating the moment the logout (or
// device deletion) that removes it is answered, although lookups are kept.
#include "fixture.hpp"

namespace atrium::homeserver::testing {
namespace {

class AccountsTest : public HomeserverTest {
 protected:
  static net::Request bearer(const Requester& who) {
    net::Request request;
    request.headers.emplace_back("authorization", "Bearer " + who.access_token);
    return request;
  }
  Errc auth_error(const Requester& who) {
    try {
      hs_->accounts.authenticate(bearer(who));
    } catch (const MatrixError& e) {
      return e.errc();
    }
    ADD_FAILURE() << "the token of " << who.device_id << " still authenticates";
    return Errc::unknown;
  }
  Requester login(const std::string& localpart) {
    auto body = json::object{{"type", "m.login.password"},
                             {"identifier", {{"type", "m.id.user"}, {"user", localpart}}},
                             {"password", "pw"}};
    auto out =
        await<json::object>([&](auto done) { hs_->accounts.login(body, "127.0.0.1", done); });
    return Requester{std::string(out.at("user_id").as_string()),
                     std::string(out.at("device_id").as_string()),
                     std::string(out.at("access_token").as_string())};
  }
};

TEST_F(AccountsTest, KnownTokensStopWorkingWhenTheirDeviceGoes) {
  auto alice = make_user("alice");
  auto phone = login("alice");
  auto laptop = login("alice");
  for (int i = 0; i < 2; ++i) {  // the second round is answered from what was looked up
    for (const auto& device : {alice, phone, laptop}) {
      auto who = hs_->accounts.authenticate(bearer(device));
      EXPECT_EQ(who.user_id, alice.user_id);
      EXPECT_EQ(who.device_id, device.device_id);
    }
  }
  const uint64_t before = store_->token_epoch();

  await<json::object>([&](auto done) { hs_->accounts.logout(phone, done); });
  EXPECT_GE(store_->token_epoch(), before + 2) << "moved before and after the commit";
  EXPECT_EQ(auth_error(phone), Errc::unknown_token);
  EXPECT_EQ(hs_->accounts.authenticate(bearer(laptop)).device_id, laptop.device_id);

  await<json::object>([&](auto done) { hs_->accounts.logout_all(alice, done); });
  EXPECT_EQ(auth_error(alice), Errc::unknown_token);
  EXPECT_EQ(auth_error(laptop), Errc::unknown_token);

  auto back = login("alice");
  EXPECT_EQ(hs_->accounts.authenticate(bearer(back)).device_id, back.device_id);
}

TEST_F(AccountsTest, WritesThatDeleteNoTokenLeaveKnownTokensAlone) {
  auto alice = make_user("alice");
  hs_->accounts.authenticate(bearer(alice));
  const uint64_t before = store_->token_epoch();
  auto room = create_room(alice);
  send_text(alice, room, "hello", "t1");
  EXPECT_EQ(store_->token_epoch(), before);
  EXPECT_EQ(hs_->accounts.authenticate(bearer(alice)).device_id, alice.device_id);
}

}  // namespace
}  // namespace atrium::homeserver::testing
