#include "media/sdp.hpp"

#include <charconv>

namespace atrium::media {
namespace {

// Splits on runs of spaces (SDP uses single spaces; browsers sometimes don't).
std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ')
      ++end;
    if (end > pos) words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

std::vector<std::string> split_on(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

template <typename Number>
bool parse_number(std::string_view text, Number& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Parses one line's attribute; returns an error reason, empty on success.
class SdpParser {
 public:
  SdpParseResult run(std::string_view text);

 private:
  std::string session_line(char type, std::string_view value);
  std::string media_line(std::string_view value);
  std::string attribute(std::string_view name, std::optional<std::string_view> value);
  std::string transport_attribute(SdpTransport& transport, std::string_view name,
                                  std::string_view value, bool& handled);
  std::string media_attribute(SdpMedia& media, std::string_view name, std::string_view value,
                              bool& handled);
  SdpCodec& codec(SdpMedia& media, int payload_type);

  SdpSession session_;
  SdpMedia* current_ = nullptr;
};

SdpParseResult SdpParser::run(std::string_view text) {
  SdpParseResult result;
  if (text.size() > kMaxSdpSize) {
    result.error = {0, "SDP larger than " + std::to_string(kMaxSdpSize) + " bytes"};
    return result;
  }
  size_t line_number = 0;
  size_t pos = 0;
  bool saw_version = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // tolerate blank lines, e.g. a trailing one
    auto fail = [&](std::string reason) {
      result.error = {line_number, std::move(reason)};
      return result;
    };
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
      return fail("expected '<letter>=<value>'");
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!saw_version) {
      if (type != 'v') return fail("the first line must be v=");
      if (value != "0") return fail("unsupported SDP version '" + std::string(value) + "'");
      saw_version = true;
      continue;
    }
    std::string error;
    if (type == 'v') {
      error = "repeated v= line";
    } else if (type == 'm') {
      error = media_line(value);
    } else if (type == 'a') {
      const size_t colon = value.find(':');
      if (colon == 0 || value.empty()) {
        error = "empty attribute name";
      } else if (colon == std::string_view::npos) {
        error = attribute(value, std::nullopt);
      } else {
        error = attribute(value.substr(0, colon), value.substr(colon + 1));
      }
    } else {
      error = session_line(type, value);
    }
    if (!error.empty()) return fail(std::move(error));
  }
  if (!saw_version) {
    result.error = {0, "empty SDP"};
    return result;
  }
  result.session = std::move(session_);
  return result;
}

std::string SdpParser::session_line(char type, std::string_view value) {
  if (type == 'c') {
    if (split_words(value).size() != 3) return "c= needs '<nettype> <addrtype> <address>'";
    (current_ ? current_->connection : session_.connection) = std::string(value);
    return {};
  }
  if (type == 'b') {
    if (value.find(':') == std::string_view::npos) return "b= needs '<type>:<bandwidth>'";
    (current_ ? current_->bandwidths : session_.bandwidths).emplace_back(value);
    return {};
  }
  if (current_ == nullptr) {
    if (type == 'o') {
      const auto words = split_words(value);
      if (words.size() != 6) return "o= needs 6 fields";
      session_.origin = {std::string(words[0]), std::string(words[1]), std::string(words[2]),
                         std::string(words[3]), std::string(words[4]), std::string(words[5])};
      return {};
    }
    if (type == 's') {
      session_.session_name = std::string(value);
      return {};
    }
    if (type == 't') {
      if (split_words(value).size() != 2) return "t= needs '<start> <stop>'";
      session_.timing = std::string(value);
      return {};
    }
  } else if (type == 'o' || type == 's' || type == 't') {
    return std::string(1, type) + "= is only allowed at session level";
  }
  (current_ ? current_->other_lines : session_.other_lines).emplace_back(type, value);
  return {};
}

std::string SdpParser::media_line(std::string_view value) {
  const auto words = split_words(value);
  if (words.size() < 3) return "m= needs '<media> <port> <proto> <fmt>...'";
  SdpMedia media;
  media.media = std::string(words[0]);
  std::string_view port = words[1];
  if (const size_t slash = port.find('/'); slash != std::string_view::npos) {
    uint16_t count = 0;
    if (!parse_number(port.substr(slash + 1), count)) return "bad port count in m=";
    media.port_count = count;
    port = port.substr(0, slash);
  }
  if (!parse_number(port, media.port)) return "bad port in m=";
  media.proto = std::string(words[2]);
  for (size_t i = 3; i < words.size(); ++i)
    media.formats.emplace_back(words[i]);
  session_.media.push_back(std::move(media));
  current_ = &session_.media.back();
  return {};
}

SdpCodec& SdpParser::codec(SdpMedia& media, int payload_type) {
  for (SdpCodec& existing : media.codecs) {
    if (existing.payload_type == payload_type) return existing;
  }
  media.codecs.push_back(SdpCodec{.payload_type = payload_type});
  return media.codecs.back();
}

std::string SdpParser::transport_attribute(SdpTransport& transport, std::string_view name,
                                           std::string_view value, bool& handled) {
  handled = true;
  if (name == "ice-ufrag") {
    transport.ice_ufrag = std::string(value);
  } else if (name == "ice-pwd") {
    transport.ice_pwd = std::string(value);
  } else if (name == "ice-options") {
    transport.ice_options.clear();
    for (auto word : split_words(value))
      transport.ice_options.emplace_back(word);
  } else if (name == "fingerprint") {
    const auto words = split_words(value);
    if (words.size() != 2) return "fingerprint needs '<hash> <hex>'";
    transport.fingerprint = SdpFingerprint{std::string(words[0]), std::string(words[1])};
  } else if (name == "setup") {
    if (value != "actpass" && value != "active" && value != "passive" && value != "holdconn") {
      return "setup must be actpass, active, passive or holdconn";
    }
    transport.setup = std::string(value);
  } else {
    handled = false;
  }
  return {};
}

std::string SdpParser::attribute(std::string_view name, std::optional<std::string_view> value) {
  const std::string_view text = value.value_or(std::string_view());
  bool handled = false;
  SdpTransport& transport = current_ ? current_->transport : session_.transport;
  if (std::string error = transport_attribute(transport, name, text, handled); !error.empty()) {
    return error;
  }
  if (handled) return {};
  if (auto direction = parse_sdp_direction(name); direction && !value) {
    (current_ ? current_->direction : session_.direction) = direction;
    return {};
  }
  if (current_ != nullptr) {
    std::string error = media_attribute(*current_, name, text, handled);
    if (!error.empty() || handled) return error;
  } else if (name == "group") {
    const auto words = split_words(text);
    if (words.empty()) return "group needs semantics";
    SdpGroup group{std::string(words[0]), {}};
    for (size_t i = 1; i < words.size(); ++i)
      group.mids.emplace_back(words[i]);
    session_.groups.push_back(std::move(group));
    return {};
  } else if (name == "ice-lite" && !value) {
    session_.ice_lite = true;
    return {};
  } else if (name == "msid-semantic") {
    session_.msid_semantic = std::string(trim(text));
    return {};
  } else if (name == "extmap-allow-mixed" && !value) {
    session_.extmap_allow_mixed = true;
    return {};
  }
  auto& others = current_ ? current_->other_attributes : session_.other_attributes;
  others.push_back(
      SdpAttribute{std::string(name), value ? std::optional<std::string>(*value) : std::nullopt});
  return {};
}

std::string parse_candidate(std::string_view text, SdpCandidate& out) {
  const auto words = split_words(text);
  if (words.size() < 8 || words[6] != "typ") {
    return "candidate needs '<foundation> <component> <transport> <priority> <address> <port> "
           "typ <type>'";
  }
  out.foundation = std::string(words[0]);
  if (!parse_number(words[1], out.component)) return "bad candidate component";
  out.transport = std::string(words[2]);
  if (!parse_number(words[3], out.priority)) return "bad candidate priority";
  out.address = std::string(words[4]);
  if (!parse_number(words[5], out.port)) return "bad candidate port";
  out.type = std::string(words[7]);
  for (size_t i = 8; i < words.size(); i += 2) {
    if (i + 1 >= words.size()) return "candidate extension without a value";
    if (words[i] == "raddr") {
      out.related_address = std::string(words[i + 1]);
    } else if (words[i] == "rport") {
      uint16_t port = 0;
      if (!parse_number(words[i + 1], port)) return "bad candidate rport";
      out.related_port = port;
    } else {
      out.extensions.emplace_back(words[i], words[i + 1]);
    }
  }
  return {};
}

std::string parse_simulcast(std::string_view text, SdpSimulcast& out) {
  const auto words = split_words(text);
  if (words.empty() || words.size() % 2 != 0) return "simulcast needs '<send|recv> <streams>'";
  for (size_t i = 0; i < words.size(); i += 2) {
    std::vector<std::vector<std::string>>* target = nullptr;
    if (words[i] == "send") target = &out.send;
    if (words[i] == "recv") target = &out.recv;
    if (target == nullptr || !target->empty()) return "simulcast direction must be send or recv";
    for (const std::string& stream : split_on(words[i + 1], ';')) {
      auto alternatives = split_on(stream, ',');
      for (const auto& rid : alternatives) {
        if (rid.empty() || rid == "~") return "empty rid in simulcast";
      }
      target->push_back(std::move(alternatives));
    }
  }
  return {};
}

std::string SdpParser::media_attribute(SdpMedia& media, std::string_view name,
                                       std::string_view value, bool& handled) {
  handled = true;
  if (name == "mid") {
    if (value.empty()) return "empty mid";
    media.mid = std::string(value);
  } else if (name == "msid") {
    if (value.empty()) return "empty msid";
    media.msids.emplace_back(value);
  } else if (name == "rtcp") {
    media.rtcp = std::string(value);
  } else if (name == "rtcp-mux") {
    media.rtcp_mux = true;
  } else if (name == "rtcp-mux-only") {
    media.rtcp_mux_only = true;
  } else if (name == "rtcp-rsize") {
    media.rtcp_rsize = true;
  } else if (name == "extmap-allow-mixed") {
    media.extmap_allow_mixed = true;
  } else if (name == "extmap") {
    const auto words = split_words(value);
    if (words.size() < 2) return "extmap needs '<id>[/<direction>] <uri>'";
    SdpExtmap extmap;
    std::string_view id = words[0];
    if (const size_t slash = id.find('/'); slash != std::string_view::npos) {
      extmap.direction = parse_sdp_direction(id.substr(slash + 1));
      if (!extmap.direction) return "bad extmap direction";
      id = id.substr(0, slash);
    }
    if (!parse_number(id, extmap.id) || extmap.id < 1 || extmap.id > 255) {
      return "extmap id must be 1..255";
    }
    extmap.uri = std::string(words[1]);
    for (size_t i = 2; i < words.size(); ++i) {
      if (!extmap.attributes.empty()) extmap.attributes += ' ';
      extmap.attributes += words[i];
    }
    media.extmaps.push_back(std::move(extmap));
  } else if (name == "rtpmap" || name == "fmtp" || name == "rtcp-fb") {
    const size_t space = value.find(' ');
    const std::string_view pt_text = value.substr(0, space);
    const std::string_view rest =
        space == std::string_view::npos ? std::string_view() : trim(value.substr(space + 1));
    if (name == "rtcp-fb" && pt_text == "*") {
      if (rest.empty()) return "rtcp-fb without a feedback type";
      media.rtcp_fb_any.emplace_back(rest);
      return {};
    }
    int payload_type = 0;
    if (!parse_number(pt_text, payload_type) || payload_type < 0 || payload_type > 127) {
      return std::string(name) + " payload type must be 0..127";
    }
    if (rest.empty()) return std::string(name) + " without a value";
    SdpCodec& entry = codec(media, payload_type);
    if (name == "fmtp") {
      entry.fmtp = std::string(rest);
    } else if (name == "rtcp-fb") {
      entry.rtcp_fb.emplace_back(rest);
    } else {
      const auto parts = split_on(rest, '/');
      if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
        return "rtpmap needs '<pt> <encoding>/<clock rate>[/<channels>]'";
      }
      entry.encoding = parts[0];
      entry.channels.reset();  // a repeated rtpmap replaces the whole mapping
      if (!parse_number(std::string_view(parts[1]), entry.clock_rate)) return "bad clock rate";
      if (parts.size() == 3) {
        uint32_t channels = 0;
        if (!parse_number(std::string_view(parts[2]), channels)) return "bad channel count";
        entry.channels = channels;
      }
    }
  } else if (name == "ssrc") {
    const size_t space = value.find(' ');
    SdpSsrcLine line;
    if (!parse_number(value.substr(0, space), line.ssrc)) return "bad ssrc";
    if (space == std::string_view::npos) return "ssrc without an attribute";
    const std::string_view rest = trim(value.substr(space + 1));
    const size_t colon = rest.find(':');
    line.attribute = std::string(rest.substr(0, colon));
    if (line.attribute.empty()) return "ssrc without an attribute";
    if (colon != std::string_view::npos) line.value = std::string(rest.substr(colon + 1));
    media.ssrcs.push_back(std::move(line));
  } else if (name == "ssrc-group") {
    const auto words = split_words(value);
    if (words.size() < 2) return "ssrc-group needs '<semantics> <ssrc>...'";
    SdpSsrcGroup group{std::string(words[0]), {}};
    for (size_t i = 1; i < words.size(); ++i) {
      uint32_t ssrc = 0;
      if (!parse_number(words[i], ssrc)) return "bad ssrc in ssrc-group";
      group.ssrcs.push_back(ssrc);
    }
    media.ssrc_groups.push_back(std::move(group));
  } else if (name == "rid") {
    const auto words = split_words(value);
    if (words.size() < 2 || words.size() > 3) return "rid needs '<id> <send|recv> [params]'";
    if (words[1] != "send" && words[1] != "recv") return "rid direction must be send or recv";
    media.rids.push_back(SdpRid{std::string(words[0]), std::string(words[1]),
                                words.size() == 3 ? std::string(words[2]) : std::string()});
  } else if (name == "simulcast") {
    SdpSimulcast simulcast;
    if (std::string error = parse_simulcast(value, simulcast); !error.empty()) return error;
    media.simulcast = std::move(simulcast);
  } else if (name == "candidate") {
    SdpCandidate candidate;
    if (std::string error = parse_candidate(value, candidate); !error.empty()) return error;
    media.candidates.push_back(std::move(candidate));
  } else if (name == "end-of-candidates") {
    media.end_of_candidates = true;
  } else if (name == "sctp-port") {
    uint16_t port = 0;
    if (!parse_number(value, port)) return "bad sctp-port";
    media.sctp_port = port;
  } else if (name == "max-message-size") {
    uint64_t size = 0;
    if (!parse_number(value, size)) return "bad max-message-size";
    media.max_message_size = size;
  } else {
    handled = false;
  }
  return {};
}

}  // namespace

const char* to_string(SdpDirection direction) {
  switch (direction) {
    case SdpDirection::kSendRecv:
      return "sendrecv";
    case SdpDirection::kSendOnly:
      return "sendonly";
    case SdpDirection::kRecvOnly:
      return "recvonly";
    case SdpDirection::kInactive:
      return "inactive";
  }
  return "inactive";
}

std::optional<SdpDirection> parse_sdp_direction(std::string_view text) {
  if (text == "sendrecv") return SdpDirection::kSendRecv;
  if (text == "sendonly") return SdpDirection::kSendOnly;
  if (text == "recvonly") return SdpDirection::kRecvOnly;
  if (text == "inactive") return SdpDirection::kInactive;
  return std::nullopt;
}

const SdpCodec* SdpMedia::codec(int payload_type) const {
  for (const SdpCodec& entry : codecs) {
    if (entry.payload_type == payload_type) return &entry;
  }
  return nullptr;
}

const std::vector<std::string>* SdpSession::bundle() const {
  for (const SdpGroup& group : groups) {
    if (group.semantics == "BUNDLE") return &group.mids;
  }
  return nullptr;
}

SdpParseResult parse_sdp(std::string_view text) {
  return SdpParser().run(text);
}

}  // namespace atrium::media
