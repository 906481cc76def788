// write_sdp: the order of lines follows what Chrome emits, so that answers
// read naturally next to browser offers in logs.
#include <string>

#include "media/sdp.hpp"

namespace atrium::media {
namespace {

class SdpWriter {
 public:
  void line(char type, std::string_view value) {
    out_ += type;
    out_ += '=';
    out_ += value;
    out_ += "\r\n";
  }
  void attribute(std::string_view name) { line('a', name); }
  void attribute(std::string_view name, std::string_view value) {
    out_ += "a=";
    out_ += name;
    out_ += ':';
    out_ += value;
    out_ += "\r\n";
  }
  void transport(const SdpTransport& transport) {
    if (!transport.ice_ufrag.empty()) attribute("ice-ufrag", transport.ice_ufrag);
    if (!transport.ice_pwd.empty()) attribute("ice-pwd", transport.ice_pwd);
    if (!transport.ice_options.empty()) attribute("ice-options", join(transport.ice_options, ' '));
    if (transport.fingerprint) {
      attribute("fingerprint",
                transport.fingerprint->algorithm + ' ' + transport.fingerprint->value);
    }
    if (!transport.setup.empty()) attribute("setup", transport.setup);
  }
  void others(const std::vector<SdpAttribute>& attributes) {
    for (const SdpAttribute& other : attributes) {
      if (other.value) {
        attribute(other.name, *other.value);
      } else {
        attribute(other.name);
      }
    }
  }
  void media(const SdpMedia& media);
  std::string take() { return std::move(out_); }

  static std::string join(const std::vector<std::string>& parts, char separator) {
    std::string joined;
    for (const std::string& part : parts) {
      if (!joined.empty() || &part != &parts.front()) joined += separator;
      joined += part;
    }
    return joined;
  }

 private:
  std::string out_;
};

std::string simulcast_streams(const std::vector<std::vector<std::string>>& streams) {
  std::string text;
  for (size_t i = 0; i < streams.size(); ++i) {
    if (i > 0) text += ';';
    text += SdpWriter::join(streams[i], ',');
  }
  return text;
}

std::string candidate_text(const SdpCandidate& candidate) {
  std::string text = candidate.foundation + ' ' + std::to_string(candidate.component) + ' ' +
                     candidate.transport + ' ' + std::to_string(candidate.priority) + ' ' +
                     candidate.address + ' ' + std::to_string(candidate.port) + " typ " +
                     candidate.type;
  if (!candidate.related_address.empty()) text += " raddr " + candidate.related_address;
  if (candidate.related_port) text += " rport " + std::to_string(*candidate.related_port);
  for (const auto& [key, value] : candidate.extensions)
    text += ' ' + key + ' ' + value;
  return text;
}

void SdpWriter::media(const SdpMedia& media) {
  std::string m = media.media + ' ' + std::to_string(media.port);
  if (media.port_count) m += '/' + std::to_string(*media.port_count);
  m += ' ' + media.proto;
  for (const std::string& format : media.formats)
    m += ' ' + format;
  line('m', m);
  for (const auto& [type, value] : media.other_lines)
    line(type, value);
  if (!media.connection.empty()) line('c', media.connection);
  for (const std::string& bandwidth : media.bandwidths)
    line('b', bandwidth);
  if (!media.rtcp.empty()) attribute("rtcp", media.rtcp);
  transport(media.transport);
  if (!media.mid.empty()) attribute("mid", media.mid);
  if (media.extmap_allow_mixed) attribute("extmap-allow-mixed");
  for (const SdpExtmap& extmap : media.extmaps) {
    std::string value = std::to_string(extmap.id);
    if (extmap.direction) value += std::string("/") + to_string(*extmap.direction);
    value += ' ' + extmap.uri;
    if (!extmap.attributes.empty()) value += ' ' + extmap.attributes;
    attribute("extmap", value);
  }
  if (media.direction) attribute(to_string(*media.direction));
  for (const std::string& msid : media.msids)
    attribute("msid", msid);
  if (media.rtcp_mux) attribute("rtcp-mux");
  if (media.rtcp_mux_only) attribute("rtcp-mux-only");
  if (media.rtcp_rsize) attribute("rtcp-rsize");
  for (const SdpCodec& codec : media.codecs) {
    const std::string pt = std::to_string(codec.payload_type);
    if (!codec.encoding.empty()) {
      std::string value = pt + ' ' + codec.encoding + '/' + std::to_string(codec.clock_rate);
      if (codec.channels) value += '/' + std::to_string(*codec.channels);
      attribute("rtpmap", value);
    }
    for (const std::string& feedback : codec.rtcp_fb)
      attribute("rtcp-fb", pt + ' ' + feedback);
    if (!codec.fmtp.empty()) attribute("fmtp", pt + ' ' + codec.fmtp);
  }
  for (const std::string& feedback : media.rtcp_fb_any)
    attribute("rtcp-fb", "* " + feedback);
  for (const SdpSsrcGroup& group : media.ssrc_groups) {
    std::string value = group.semantics;
    for (uint32_t ssrc : group.ssrcs)
      value += ' ' + std::to_string(ssrc);
    attribute("ssrc-group", value);
  }
  for (const SdpSsrcLine& ssrc : media.ssrcs) {
    std::string value = std::to_string(ssrc.ssrc) + ' ' + ssrc.attribute;
    if (ssrc.value) value += ':' + *ssrc.value;
    attribute("ssrc", value);
  }
  for (const SdpRid& rid : media.rids) {
    attribute("rid", rid.id + ' ' + rid.direction + (rid.params.empty() ? "" : ' ' + rid.params));
  }
  if (media.simulcast) {
    std::string value;
    if (!media.simulcast->send.empty()) value = "send " + simulcast_streams(media.simulcast->send);
    if (!media.simulcast->recv.empty()) {
      if (!value.empty()) value += ' ';
      value += "recv " + simulcast_streams(media.simulcast->recv);
    }
    attribute("simulcast", value);
  }
  if (media.sctp_port) attribute("sctp-port", std::to_string(*media.sctp_port));
  if (media.max_message_size) {
    attribute("max-message-size", std::to_string(*media.max_message_size));
  }
  for (const SdpCandidate& candidate : media.candidates) {
    attribute("candidate", candidate_text(candidate));
  }
  if (media.end_of_candidates) attribute("end-of-candidates");
  others(media.other_attributes);
}

}  // namespace

std::string write_sdp(const SdpSession& session) {
  SdpWriter writer;
  writer.line('v', "0");
  const SdpOrigin& o = session.origin;
  writer.line('o', o.username + ' ' + o.session_id + ' ' + o.session_version + ' ' + o.net_type +
                       ' ' + o.address_type + ' ' + o.address);
  writer.line('s', session.session_name);
  if (!session.connection.empty()) writer.line('c', session.connection);
  for (const std::string& bandwidth : session.bandwidths)
    writer.line('b', bandwidth);
  writer.line('t', session.timing);
  for (const auto& [type, value] : session.other_lines)
    writer.line(type, value);
  for (const SdpGroup& group : session.groups) {
    std::string value = group.semantics;
    for (const std::string& mid : group.mids)
      value += ' ' + mid;
    writer.attribute("group", value);
  }
  if (session.extmap_allow_mixed) writer.attribute("extmap-allow-mixed");
  if (!session.msid_semantic.empty())
    writer.attribute("msid-semantic", ' ' + session.msid_semantic);
  if (session.ice_lite) writer.attribute("ice-lite");
  writer.transport(session.transport);
  if (session.direction) writer.attribute(to_string(*session.direction));
  writer.others(session.other_attributes);
  for (const SdpMedia& media : session.media)
    writer.media(media);
  return writer.take();
}

}  // namespace atrium::media
