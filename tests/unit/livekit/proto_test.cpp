// Our livekit.* protobuf subset: round trips, and golden encodings produced by
// @livekit/protocol 1.51 (toBinary()), so the field numbers are pinned here too.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "livekit/proto/livekit_models.pb.h"
#include "livekit/proto/livekit_room.pb.h"
#include "livekit/proto/livekit_rtc.pb.h"
#include "livekit/proto/livekit_webhook.pb.h"

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string to_hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

template <typename M>
M reparse(const M& message) {
  M copy;
  EXPECT_TRUE(copy.ParseFromString(message.SerializeAsString()));
  return copy;
}

TEST(LivekitProto, PingReqGolden) {
  livekit::SignalRequest request;
  request.mutable_ping_req()->set_timestamp(1700000000000);
  request.mutable_ping_req()->set_rtt(25);
  EXPECT_EQ(to_hex(request.SerializeAsString()), "8201090880d095ffbc311019");
}

TEST(LivekitProto, TrickleGolden) {
  livekit::SignalRequest request;
  ASSERT_TRUE(
      request.ParseFromString(from_hex("1a160a107b2263616e646964617465223a22227d10011801")));
  ASSERT_EQ(request.message_case(), livekit::SignalRequest::kTrickle);
  EXPECT_EQ(request.trickle().candidateinit(), R"({"candidate":""})");
  EXPECT_EQ(request.trickle().target(), livekit::SUBSCRIBER);
  EXPECT_TRUE(request.trickle().final());
}

TEST(LivekitProto, OfferWithMidMapGolden) {
  livekit::SignalRequest request;
  ASSERT_TRUE(request.ParseFromString(
      from_hex("0a1b0a056f666665721205763d300d0a180722090a0130120454525f61")));
  ASSERT_TRUE(request.has_offer());
  EXPECT_EQ(request.offer().type(), "offer");
  EXPECT_EQ(request.offer().sdp(), "v=0\r\n");
  EXPECT_EQ(request.offer().id(), 7u);
  EXPECT_EQ(request.offer().mid_to_track_id().at("0"), "TR_a");
  EXPECT_EQ(to_hex(request.SerializeAsString()),
            "0a1b0a056f666665721205763d300d0a180722090a0130120454525f61");
}

TEST(LivekitProto, LeaveMuteAddTrackGolden) {
  livekit::SignalRequest leave;
  leave.mutable_leave()->set_reason(livekit::CLIENT_INITIATED);
  leave.mutable_leave()->set_action(livekit::LeaveRequest::DISCONNECT);
  EXPECT_EQ(to_hex(leave.SerializeAsString()), "42021001");

  livekit::SignalRequest mute;
  mute.mutable_mute()->set_sid("TR_x");
  mute.mutable_mute()->set_muted(true);
  EXPECT_EQ(to_hex(mute.SerializeAsString()), "2a080a0454525f781001");

  livekit::SignalRequest add;
  ASSERT_TRUE(add.ParseFromString(from_hex("220b0a02633112036d69634002")));
  EXPECT_EQ(add.add_track().cid(), "c1");
  EXPECT_EQ(add.add_track().name(), "mic");
  EXPECT_EQ(add.add_track().type(), livekit::AUDIO);
  EXPECT_EQ(add.add_track().source(), livekit::MICROPHONE);
}

TEST(LivekitProto, PongRespAndDataPacketGolden) {
  livekit::SignalResponse response;
  response.mutable_pong_resp()->set_last_ping_timestamp(1700000000000);
  response.mutable_pong_resp()->set_timestamp(1700000000005);
  EXPECT_EQ(to_hex(response.SerializeAsString()), "a2010e0880d095ffbc311085d095ffbc31");

  livekit::DataPacket packet;
  ASSERT_TRUE(packet.ParseFromString(from_hex("120812030102032201742205616c696365800103")));
  EXPECT_EQ(packet.kind(), livekit::DataPacket::RELIABLE);
  EXPECT_EQ(packet.participant_identity(), "alice");
  EXPECT_EQ(packet.sequence(), 3u);
  ASSERT_TRUE(packet.has_user());
  EXPECT_EQ(packet.user().payload(), std::string("\x01\x02\x03", 3));
  EXPECT_EQ(packet.user().topic(), "t");
}

TEST(LivekitProto, JoinResponseRoundTrip) {
  livekit::SignalResponse response;
  auto* join = response.mutable_join();
  join->mutable_room()->set_sid("RM_abc");
  join->mutable_room()->set_name("room");
  auto* self = join->mutable_participant();
  self->set_sid("PA_self");
  self->set_identity("@alice:example.org");
  self->set_state(livekit::ParticipantInfo::JOINED);
  self->mutable_permission()->set_can_publish(true);
  self->mutable_permission()->add_can_publish_sources(livekit::CAMERA);
  auto* track = self->add_tracks();
  track->set_sid("TR_VC1");
  track->set_type(livekit::VIDEO);
  track->set_encryption(livekit::Encryption::GCM);
  auto* layer = track->add_layers();
  layer->set_quality(livekit::HIGH);
  layer->set_width(1280);
  (*self->mutable_attributes())["k"] = "v";
  join->add_other_participants()->set_identity("bob");
  join->mutable_server_info()->set_version("1.9.0");
  join->mutable_server_info()->set_protocol(16);
  auto* ice = join->add_ice_servers();
  ice->add_urls("turn:turn.example.org:3478");
  ice->set_username("u");
  join->mutable_client_configuration()->set_resume_connection(livekit::DISABLED);
  join->set_subscriber_primary(true);
  join->set_ping_interval(5);
  join->set_ping_timeout(15);
  join->set_sif_trailer(std::string("\x00\xff", 2));

  const auto copy = reparse(response);
  EXPECT_EQ(copy.SerializeAsString(), response.SerializeAsString());
  ASSERT_TRUE(copy.has_join());
  EXPECT_EQ(copy.join().participant().tracks(0).layers(0).width(), 1280u);
  EXPECT_EQ(copy.join().participant().attributes().at("k"), "v");
  EXPECT_EQ(copy.join().server_info().version(), "1.9.0");
}

TEST(LivekitProto, JsonNamesMatchProtojson) {
  livekit::SignalRequest request;
  request.mutable_trickle()->set_candidateinit("{}");
  request.mutable_trickle()->set_target(livekit::SUBSCRIBER);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(request, &json).ok());
  EXPECT_EQ(json, R"({"trickle":{"candidateInit":"{}","target":"SUBSCRIBER"}})");

  livekit::WebhookEvent event;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(
          R"({"event":"participant_joined","room":{"name":"r"},"participant":{"identity":"a"},)"
          R"("id":"EV_1","createdAt":"1700000000"})",
          &event)
          .ok());
  EXPECT_EQ(event.event(), "participant_joined");
  EXPECT_EQ(event.created_at(), 1700000000);
}

TEST(LivekitProto, UnknownFieldsSurviveReserialization) {
  // SignalRequest field 19 (publish_data_track_request) is reserved here:
  // parsing keeps it as an unknown field and re-serialization preserves it.
  const std::string bytes = from_hex("9a01020a00");
  livekit::SignalRequest request;
  ASSERT_TRUE(request.ParseFromString(bytes));
  EXPECT_EQ(request.message_case(), livekit::SignalRequest::MESSAGE_NOT_SET);
  EXPECT_EQ(request.SerializeAsString(), bytes);
}

TEST(LivekitProto, RoomServiceRoundTrip) {
  livekit::ListParticipantsResponse list;
  list.add_participants()->set_identity("a");
  list.add_participants()->set_kind(livekit::ParticipantInfo::AGENT);
  EXPECT_EQ(reparse(list).participants_size(), 2);

  livekit::SendDataRequest send;
  send.set_room("r");
  send.set_data("x");
  send.set_kind(livekit::DataPacket::LOSSY);
  send.add_destination_identities("b");
  send.set_topic("t");
  EXPECT_EQ(reparse(send).SerializeAsString(), send.SerializeAsString());
}

}  // namespace
