#pragma once
// One peer of the media echo server: answers its offer and sends back what it
// receives. Each sendrecv audio/video section gets one stream of ours (its own
// SSRC, declared in the answer) carrying the packets of one source stream of
// that section (the first simulcast rid, or the first SSRC seen); every
// data-channel message goes back on its channel. Runs on the transport's
// media worker, except create() and stats.
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "media/media_server.hpp"
#include "media/rtp.hpp"
#include "media/sdp_answer.hpp"

namespace atrium::tools {

class EchoPeer {
 public:
  // Negotiates, registers the transport with the server and returns the
  // answer; nullptr with `error` set for an offer we cannot answer.
  // tcp_only: answer with ICE-TCP candidates alone (tests the TCP path).
  static std::shared_ptr<EchoPeer> create(media::MediaServer& server, const std::string& offer,
                                          bool tcp_only, std::string* answer, std::string* error);

  const std::shared_ptr<media::WebRtcTransport>& transport() const { return transport_; }

 private:
  struct Section {
    size_t index = 0;
    std::string mid;
    std::string wanted_rid;          // simulcast: the layer we echo
    std::optional<uint32_t> source;  // the incoming SSRC we echo
    uint32_t out_ssrc = 0;
    bool echo = false;  // sendrecv: we send something back
  };
  void on_rtp(std::span<uint8_t> buffer, size_t length);
  void on_rtcp(std::span<uint8_t> buffer, size_t length);
  Section* section_for(const media::RtpView& packet);
  void request_keyframe(const Section& section);

  std::shared_ptr<media::WebRtcTransport> transport_;
  std::vector<Section> sections_;
  std::unordered_map<uint32_t, Section*> by_ssrc_;
  int mid_extension_ = 0;
  int rid_extension_ = 0;
};

}  // namespace atrium::tools
