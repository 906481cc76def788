// atrium-livekit-proto: binary <-> protojson for the livekit.* messages of
// src/livekit/proto, used to check them against @livekit/protocol.
//
//   atrium-livekit-proto decode <MessageType>   binary on stdin -> protojson on stdout
//   atrium-livekit-proto encode <MessageType>   protojson on stdin -> binary on stdout
//   atrium-livekit-proto reencode <MessageType> binary on stdin -> parsed and
//                                               re-serialized binary on stdout
//                                               (unknown fields are kept)
//
// <MessageType> is e.g. SignalRequest or livekit.SignalRequest. Both use
// protobuf's default JSON options. Exit 1 on bad input, 2 on bad usage.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "livekit/proto/livekit_models.pb.h"
#include "livekit/proto/livekit_room.pb.h"
#include "livekit/proto/livekit_rtc.pb.h"
#include "livekit/proto/livekit_webhook.pb.h"

namespace {

int usage() {
  std::cerr << "usage: atrium-livekit-proto decode|encode|reencode <MessageType>\n"
               "  decode: protobuf binary on stdin -> protojson on stdout\n"
               "  encode: protojson on stdin -> protobuf binary on stdout\n"
               "  reencode: protobuf binary on stdin -> re-serialized binary on stdout\n";
  return 2;
}

const google::protobuf::Descriptor* find_type(std::string name) {
  // Touch one message of every file so that the static library's objects (and
  // their descriptor registrations) are linked in.
  static const google::protobuf::Descriptor* const linked[] = {
      livekit::DataPacket::descriptor(), livekit::SignalRequest::descriptor(),
      livekit::ListParticipantsResponse::descriptor(), livekit::WebhookEvent::descriptor()};
  (void)linked;
  if (name.find('.') == std::string::npos) name = "livekit." + name;
  return google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return usage();
  const std::string_view mode = argv[1];
  const google::protobuf::Descriptor* type = find_type(argv[2]);
  if (type == nullptr) {
    std::cerr << "atrium-livekit-proto: unknown message type " << argv[2] << "\n";
    return 2;
  }
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  std::cin >> std::noskipws;
  const std::string input{std::istreambuf_iterator<char>(std::cin),
                          std::istreambuf_iterator<char>()};
  std::string output;
  if (mode == "decode") {
    if (!message->ParseFromString(input)) {
      std::cerr << "atrium-livekit-proto: not a valid " << type->full_name() << "\n";
      return 1;
    }
    const auto status = google::protobuf::util::MessageToJsonString(*message, &output);
    if (!status.ok()) {
      std::cerr << "atrium-livekit-proto: " << status.ToString() << "\n";
      return 1;
    }
  } else if (mode == "reencode") {
    if (!message->ParseFromString(input)) {
      std::cerr << "atrium-livekit-proto: not a valid " << type->full_name() << "\n";
      return 1;
    }
    if (!message->SerializeToString(&output)) return 1;
  } else if (mode == "encode") {
    const auto status = google::protobuf::util::JsonStringToMessage(input, message.get());
    if (!status.ok()) {
      std::cerr << "atrium-livekit-proto: " << status.ToString() << "\n";
      return 1;
    }
    if (!message->SerializeToString(&output)) return 1;
  } else {
    return usage();
  }
  std::cout << output;
  std::cout.flush();
  return std::cout ? 0 : 1;
}
