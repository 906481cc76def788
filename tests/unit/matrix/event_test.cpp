#include "matrix/event.hpp"

#include <gtest/gtest.h>

#include <string>

#include "base/encoding.hpp"
#include "matrix/canonical_json.hpp"
#include "matrix/ids.hpp"

namespace atrium::matrix {
namespace {

// The key of the spec appendix "Cryptographic test vectors".
SigningKey spec_key() {
  auto seed = base64_decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1");
  EXPECT_TRUE(seed.has_value());
  return SigningKey::from_seed(std::string(seed->begin(), seed->end()), "1");
}

const RoomVersion& v10() {
  return *find_room_version("10");
}
const RoomVersion& v11() {
  return *find_room_version("11");
}

json::object parse_object(std::string_view text) {
  return json::parse(text).as_object();
}

TEST(Signing, SpecJsonSigningVectors) {
  SigningKey key = spec_key();
  EXPECT_EQ(key.key_id(), "ed25519:1");
  EXPECT_EQ(
      key.sign(canonical_json(json::object{})),
      "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ");
  EXPECT_EQ(
      key.sign(canonical_json(parse_object(R"({"two": "Two", "one": 1})"))),
      "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw");
}

TEST(Signing, SignVerifyRoundTrip) {
  SigningKey key = SigningKey::generate("a_AbCd");
  EXPECT_EQ(key.key_id(), "ed25519:a_AbCd");
  EXPECT_EQ(key.seed().size(), 32u);
  std::string signature = key.sign("hello");
  EXPECT_EQ(signature.find('='), std::string::npos);  // unpadded
  EXPECT_TRUE(key.verify("hello", signature));
  EXPECT_FALSE(key.verify("hellp", signature));
  EXPECT_FALSE(key.verify("hello", "AAAA"));
  EXPECT_FALSE(key.verify("hello", "not base64!"));
  // The same seed gives the same key; another key does not verify.
  SigningKey again = SigningKey::from_seed(key.seed(), "a_AbCd");
  EXPECT_EQ(again.public_key_base64(), key.public_key_base64());
  EXPECT_TRUE(again.verify("hello", signature));
  EXPECT_FALSE(spec_key().verify("hello", signature));
  auto public_key = base64_decode(key.public_key_base64());
  ASSERT_TRUE(public_key.has_value());
  EXPECT_EQ(public_key->size(), 32u);
}

TEST(Signing, SeedMustBe32Bytes) {
  EXPECT_THROW(SigningKey::from_seed("short", "1"), std::invalid_argument);
}

// Spec appendix "Event signing", first vector: a minimal event. Its keys all
// survive v10 redaction, so the v10 algorithm reproduces it exactly.
TEST(EventSigning, SpecMinimalEventVector) {
  json::object event = parse_object(R"({
    "room_id": "!x:domain", "sender": "@a:domain", "origin": "domain",
    "origin_server_ts": 1000000, "signatures": {}, "hashes": {}, "type": "X",
    "content": {}, "prev_events": [], "auth_events": [], "depth": 3,
    "unsigned": {"age_ts": 1000000}})");
  finalize_event(event, "domain", spec_key(), v10());
  EXPECT_EQ(event.at("hashes").at("sha256").as_string(),
            "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos");
  EXPECT_EQ(
      event.at("signatures").at("domain").at("ed25519:1").as_string(),
      "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg");
  EXPECT_EQ(event.at("unsigned").at("age_ts").as_int64(), 1000000);
}

// Second vector: the body is redacted away before signing, but hashed.
TEST(EventSigning, SpecRedactableContentVector) {
  json::object event = parse_object(R"({
    "content": {"body": "Here is the message content"}, "event_id": "$0:domain",
    "origin": "domain", "origin_server_ts": 1000000, "type": "m.room.message",
    "room_id": "!r:domain", "sender": "@u:domain", "signatures": {},
    "unsigned": {"age_ts": 1000000}})");
  EXPECT_EQ(content_hash(event), "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g");
  finalize_event(event, "domain", spec_key(), v10());
  EXPECT_EQ(
      event.at("signatures").at("domain").at("ed25519:1").as_string(),
      "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA");
}

TEST(ContentHash, IgnoresUnsignedSignaturesAndHashes) {
  json::object event = parse_object(R"({"type": "m.room.message", "content": {"body": "hi"}})");
  std::string hash = content_hash(event);
  EXPECT_EQ(hash.size(), 43u);  // unpadded standard base64 of 32 bytes
  json::object decorated = event;
  decorated["unsigned"] = json::object{{"age", 5}};
  decorated["signatures"] = json::object{{"x", json::object{}}};
  decorated["hashes"] = json::object{{"sha256", "abc"}};
  EXPECT_EQ(content_hash(decorated), hash);
  decorated["content"].as_object()["body"] = "bye";
  EXPECT_NE(content_hash(decorated), hash);
}

json::object full_member_event() {
  return parse_object(R"({
    "type": "m.room.member", "room_id": "!r:example.org", "sender": "@a:example.org",
    "state_key": "@a:example.org", "origin": "example.org", "origin_server_ts": 5,
    "membership": "join", "prev_state": [], "depth": 2, "prev_events": ["$p"],
    "auth_events": ["$a"], "hashes": {"sha256": "h"}, "signatures": {"example.org": {}},
    "unsigned": {"age": 1}, "extra_top_level": 1,
    "content": {"membership": "join", "displayname": "A", "avatar_url": "mxc://x/y",
                "join_authorised_via_users_server": "@b:example.org",
                "third_party_invite": {"display_name": "a", "signed": {"token": "t"}}}})");
}

TEST(Redaction, V10MemberEvent) {
  json::object redacted = redact(full_member_event(), v10());
  EXPECT_EQ(redacted, parse_object(R"({
    "type": "m.room.member", "room_id": "!r:example.org", "sender": "@a:example.org",
    "state_key": "@a:example.org", "origin": "example.org", "origin_server_ts": 5,
    "membership": "join", "prev_state": [], "depth": 2, "prev_events": ["$p"],
    "auth_events": ["$a"], "hashes": {"sha256": "h"}, "signatures": {"example.org": {}},
    "content": {"membership": "join",
                "join_authorised_via_users_server": "@b:example.org"}})"));
}

TEST(Redaction, V11MemberEventDropsOriginAndKeepsSignedInvite) {
  json::object redacted = redact(full_member_event(), v11());
  EXPECT_EQ(redacted, parse_object(R"({
    "type": "m.room.member", "room_id": "!r:example.org", "sender": "@a:example.org",
    "state_key": "@a:example.org", "origin_server_ts": 5,
    "depth": 2, "prev_events": ["$p"],
    "auth_events": ["$a"], "hashes": {"sha256": "h"}, "signatures": {"example.org": {}},
    "content": {"membership": "join",
                "join_authorised_via_users_server": "@b:example.org",
                "third_party_invite": {"signed": {"token": "t"}}}})"));
}

json::object with_content(std::string_view type, std::string_view content) {
  json::object event;
  event["type"] = type;
  event["sender"] = "@a:example.org";
  event["content"] = json::parse(content);
  return event;
}

json::object redacted_content(std::string_view type, std::string_view content,
                              const RoomVersion& version) {
  return redact(with_content(type, content), version).at("content").as_object();
}

TEST(Redaction, CreateEvent) {
  const char* content =
      R"({"creator": "@a:example.org", "room_version": "10", "m.federate": false})";
  EXPECT_EQ(redacted_content("m.room.create", content, v10()),
            parse_object(R"({"creator": "@a:example.org"})"));
  EXPECT_EQ(redacted_content("m.room.create", content, v11()), parse_object(content));
}

TEST(Redaction, PowerLevelsInviteKeptOnlyInV11) {
  const char* content = R"({"ban": 50, "events": {"m.room.name": 100}, "events_default": 0,
      "invite": 0, "kick": 50, "redact": 50, "state_default": 50, "users": {"@a:example.org": 100},
      "users_default": 0, "notifications": {"room": 50}})";
  json::object v10_content = redacted_content("m.room.power_levels", content, v10());
  json::object v11_content = redacted_content("m.room.power_levels", content, v11());
  EXPECT_FALSE(v10_content.contains("invite"));
  EXPECT_TRUE(v11_content.contains("invite"));
  for (const json::object* kept : {&v10_content, &v11_content}) {
    for (std::string_view key : {"ban", "events", "events_default", "kick", "redact",
                                 "state_default", "users", "users_default"}) {
      EXPECT_TRUE(kept->contains(key)) << key;
    }
    EXPECT_FALSE(kept->contains("notifications"));
  }
}

TEST(Redaction, RedactsKeptOnlyInV11) {
  const char* content = R"({"redacts": "$e", "reason": "spam"})";
  EXPECT_TRUE(redacted_content("m.room.redaction", content, v10()).empty());
  EXPECT_EQ(redacted_content("m.room.redaction", content, v11()),
            parse_object(R"({"redacts": "$e"})"));
}

TEST(Redaction, OtherTypes) {
  for (const RoomVersion* version : {&v10(), &v11()}) {
    EXPECT_EQ(redacted_content("m.room.join_rules",
                               R"({"join_rule": "restricted", "allow": [], "x": 1})", *version),
              parse_object(R"({"join_rule": "restricted", "allow": []})"));
    EXPECT_EQ(redacted_content("m.room.history_visibility",
                               R"({"history_visibility": "shared", "x": 1})", *version),
              parse_object(R"({"history_visibility": "shared"})"));
    EXPECT_TRUE(redacted_content("m.room.message", R"({"body": "hi"})", *version).empty());
    EXPECT_TRUE(redacted_content("m.room.topic", R"({"topic": "t"})", *version).empty());
    // v10's member rule does not keep third_party_invite at all.
    EXPECT_EQ(
        redacted_content("m.room.member",
                         R"({"membership": "invite", "third_party_invite": "bogus"})", *version),
        parse_object(R"({"membership": "invite"})"));
  }
}

TEST(Redaction, IsIdempotent) {
  for (const RoomVersion* version : {&v10(), &v11()}) {
    json::object once = redact(full_member_event(), *version);
    EXPECT_EQ(redact(once, *version), once);
  }
}

json::object sample_message() {
  return parse_object(R"({
    "type": "m.room.message", "room_id": "!r:example.org", "sender": "@a:example.org",
    "origin_server_ts": 1700000000000, "depth": 7, "prev_events": ["$prev"],
    "auth_events": ["$create", "$pl", "$member"],
    "content": {"msgtype": "m.text", "body": "hi"}})");
}

TEST(EventId, FormatAndDeterminism) {
  SigningKey key = spec_key();
  json::object event = sample_message();
  std::string id = finalize_event(event, "example.org", key, v11());
  EXPECT_TRUE(is_valid_event_id(id));
  ASSERT_EQ(id.size(), 44u);                              // '$' + 43 characters of unpadded base64
  EXPECT_EQ(id.find_first_of("+/="), std::string::npos);  // URL-safe alphabet
  EXPECT_EQ(compute_event_id(event, v11()), id);

  // Re-serializing and re-parsing (key order changes, whitespace) keeps the id.
  json::object reparsed = json::parse(json::serialize(event)).as_object();
  EXPECT_EQ(compute_event_id(reparsed, v11()), id);
  json::object reordered;
  for (auto it = event.end(); it != event.begin();) {
    --it;
    reordered[it->key()] = it->value();
  }
  EXPECT_EQ(compute_event_id(reordered, v11()), id);

  // Neither unsigned data nor extra signatures affect it.
  event["unsigned"] = json::object{{"age", 1234}, {"transaction_id", "t"}};
  event["signatures"].as_object()["other.org"] = json::object{{"ed25519:x", "sig"}};
  EXPECT_EQ(compute_event_id(event, v11()), id);
  event.erase("unsigned");
  EXPECT_EQ(compute_event_id(event, v11()), id);
}

TEST(EventId, CoversHashesButNotRedactedContent) {
  SigningKey key = spec_key();
  json::object event = sample_message();
  std::string id = finalize_event(event, "example.org", key, v11());
  // Editing redactable content without re-hashing keeps the reference hash
  // (that is what lets a redacted event keep its id)...
  json::object edited = event;
  edited["content"].as_object()["body"] = "changed";
  EXPECT_EQ(compute_event_id(edited, v11()), id);
  // ...but finalizing the edit changes hashes.sha256, hence the id.
  EXPECT_NE(finalize_event(edited, "example.org", key, v11()), id);
  // Essential fields are covered directly.
  json::object moved = event;
  moved["depth"] = 8;
  EXPECT_NE(compute_event_id(moved, v11()), id);
  // A redacted copy has the same id as the original.
  EXPECT_EQ(compute_event_id(redact(event, v11()), v11()), id);
}

TEST(EventId, DependsOnRoomVersionRedactionRules) {
  json::object event = sample_message();
  event["origin"] = "example.org";  // kept by v10 redaction, dropped by v11
  std::string v10_id = compute_event_id(event, v10());
  std::string v11_id = compute_event_id(event, v11());
  EXPECT_NE(v10_id, v11_id);
  event.erase("origin");
  EXPECT_EQ(compute_event_id(event, v11()), v11_id);
  EXPECT_NE(compute_event_id(event, v10()), v10_id);
}

TEST(FinalizeEvent, SignatureVerifiesOverRedactedEvent) {
  SigningKey key = SigningKey::generate("k1");
  json::object event = sample_message();
  finalize_event(event, "example.org", key, v11());
  EXPECT_EQ(event.at("hashes").at("sha256").as_string(), content_hash(event));
  const json::object& signatures = event.at("signatures").as_object();
  ASSERT_EQ(signatures.size(), 1u);
  std::string signature(signatures.at("example.org").at("ed25519:k1").as_string());
  json::object signed_part = redact(event, v11());
  signed_part.erase("signatures");
  EXPECT_TRUE(key.verify(canonical_json(signed_part), signature));
  // The signature is not over the full event (its body is redacted away).
  json::object full = event;
  full.erase("signatures");
  EXPECT_FALSE(key.verify(canonical_json(full), signature));
}

TEST(FinalizeEvent, KeepsOtherServersSignatures) {
  json::object event = sample_message();
  event["signatures"] = json::object{{"other.org", json::object{{"ed25519:o", "sig"}}}};
  finalize_event(event, "example.org", spec_key(), v11());
  EXPECT_EQ(event.at("signatures").at("other.org").at("ed25519:o").as_string(), "sig");
  EXPECT_TRUE(event.at("signatures").at("example.org").as_object().contains("ed25519:1"));
}

// finalize_event signs and hashes one serialization of the redacted event.
TEST(FinalizeEvent, SignsAndNamesTheSameRedactedForm) {
  SigningKey key = spec_key();
  for (const RoomVersion* version : {&v10(), &v11()}) {
    json::object event = sample_message();
    event["origin"] = "example.org";  // kept by v10 redaction, dropped by v11
    std::string id = finalize_event(event, "example.org", key, *version);
    EXPECT_EQ(id, compute_event_id(event, *version)) << version->id;
    json::object signed_part = redact(event, *version);
    signed_part.erase("signatures");
    std::string signature(event.at("signatures").at("example.org").at("ed25519:1").as_string());
    EXPECT_TRUE(key.verify(canonical_json(signed_part), signature)) << version->id;
  }
}

TEST(EventSize, FinalizeCountsTheFinishedEvent) {
  json::object event = sample_message();
  size_t size = 0;
  finalize_event(event, "example.org", spec_key(), v11(), &size);
  EXPECT_EQ(size, canonical_json(event).size());
  // Members the hash leaves out are counted too.
  json::object more = sample_message();
  more["unsigned"] = json::object{{"age", 5}, {"note", "\n"}};
  more["signatures"] = json::object{{"other.org", json::object{{"ed25519:o", "sig"}}}};
  finalize_event(more, "example.org", spec_key(), v10(), &size);
  EXPECT_EQ(size, canonical_json(more).size());
  EXPECT_EQ(size, event_size(more));
}

TEST(EventSize, IsCanonicalLength) {
  json::object event = sample_message();
  EXPECT_EQ(event_size(event), canonical_json(event).size());
  event["content"].as_object()["body"] = std::string(kMaxEventBytes, 'x');
  EXPECT_GT(event_size(event), kMaxEventBytes);
}

}  // namespace
}  // namespace atrium::matrix
