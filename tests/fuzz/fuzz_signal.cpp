// LiveKit signal and data messages arrive from untrusted clients: arbitrary
// bytes are parsed as SignalRequest, SignalResponse and DataPacket (our own
// .proto subset, atrium::livekit_proto). Whatever parses must re-serialize,
// re-parse, and serialize to the same bytes again (deterministic order, unknown
// fields kept), and must print as protojson without crashing. The same bytes
// are also tried as a protojson SignalRequest, as text frames arrive.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "livekit/proto/livekit_models.pb.h"
#include "livekit/proto/livekit_rtc.pb.h"

namespace {

std::string serialize(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) std::abort();
  }
  return out;
}

template <typename M>
void round_trip(const uint8_t* data, size_t size) {
  M first;
  if (!first.ParseFromArray(data, static_cast<int>(size))) return;
  const std::string bytes = serialize(first);
  M second;
  if (!second.ParseFromString(bytes)) std::abort();
  if (serialize(second) != bytes) std::abort();
  if (second.ByteSizeLong() != bytes.size()) std::abort();
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(second, &json);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Invalid UTF-8 in string fields is a parse failure, which protobuf also logs.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

// Text-frame clients send protojson: parsed as the signal service does
// (unknown fields ignored); whatever parses must serialize and print again.
static void from_json(const uint8_t* data, size_t size) {
  livekit::SignalRequest request;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!google::protobuf::util::JsonStringToMessage(text, &request, options).ok()) return;
  const std::string bytes = serialize(request);
  livekit::SignalRequest again;
  if (!again.ParseFromString(bytes)) std::abort();
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(again, &json);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  from_json(data, size);
  round_trip<livekit::SignalRequest>(data, size);
  round_trip<livekit::SignalResponse>(data, size);
  round_trip<livekit::DataPacket>(data, size);
  return 0;
}
