#include "sfu/room.hpp"

#include <algorithm>
#include <limits>
#include <random>

#include "media/rtcp.hpp"
#include "media/rtcp_feedback.hpp"
#include "media/rtp_rewrite.hpp"
#include "sfu/codec.hpp"
#include "sfu/room_state.hpp"

namespace atrium::sfu {

using media::MessageKind;
using media::RtpView;

namespace {

// Packets kept per published layer for NACKs (RetransmissionBuffer).
constexpr size_t kVideoRingPackets = 1024;
constexpr size_t kAudioRingPackets = 128;

std::string random_string(size_t length) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  std::string out;
  for (size_t i = 0; i < length; ++i)
    out += kAlphabet[generator() % (sizeof(kAlphabet) - 1)];
  return out;
}

uint32_t random_ssrc() {
  static thread_local std::mt19937 generator{std::random_device{}()};
  return generator() | 1u;
}

// LiveKit's layer names; other rids take their place in the offer's order.
int layer_of_rid(const std::vector<std::string>& rids, std::string_view rid) {
  if (rid == "q") return 0;
  if (rid == "h") return 1;
  if (rid == "f") return 2;
  for (size_t i = 0; i < rids.size(); ++i)
    if (rids[i] == rid) return static_cast<int>(i);
  return -1;
}

Codec codec_of(const std::string& encoding) {
  std::string name = encoding;
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "opus") return Codec::kOpus;
  if (name == "red") return Codec::kRed;
  if (name == "vp8") return Codec::kVp8;
  if (name == "vp9") return Codec::kVp9;
  if (name == "h264") return Codec::kH264;
  return Codec::kOther;
}

// Moves the codecs named `encoding` to the front of an accepted section, in
// what we negotiated and in the answer we write: the client sends the first.
void prefer_codec(media::NegotiatedSession& session, media::NegotiatedMedia& m,
                  const std::string& encoding) {
  auto matches = [&](const media::SdpCodec& c) {
    return codec_of(c.encoding) == codec_of(encoding) && codec_of(encoding) != Codec::kOther;
  };
  if (std::none_of(m.codecs.begin(), m.codecs.end(), matches)) return;
  std::stable_partition(m.codecs.begin(), m.codecs.end(), matches);
  if (m.index >= session.answer.media.size()) return;
  media::SdpMedia& answer = session.answer.media[m.index];
  answer.codecs = m.codecs;
  answer.formats.clear();
  for (const auto& codec : m.codecs)
    answer.formats.push_back(std::to_string(codec.payload_type));
}

}  // namespace

Room::Room(std::string name, media::MediaServer& media, size_t worker, RoomObserver& observer)
    : name_(std::move(name)), media_(media), worker_(worker), observer_(observer) {
  scratch_.resize(media::kMaxDatagramSize + media::kDatagramHeadroom + 64);
  // Created from another thread: the timer must be added on the loop.
  loop().post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (auto guard = alive.lock(); guard && *guard)
      tick_id_ = loop().every(std::chrono::milliseconds(100), [this](auto now) { tick(now); });
  });
}

Room::~Room() {
  *alive_ = false;
  if (tick_id_) loop().cancel(tick_id_);
  std::vector<std::string> sids;
  for (const auto& [sid, p] : participants_)
    sids.push_back(sid);
  for (const auto& sid : sids)
    remove_participant(sid);
}

std::shared_ptr<media::WebRtcTransport> Room::make_transport(Participant& p, bool publisher,
                                                             media::WebRtcTransportConfig config) {
  // LiveKit's data channels are few (_reliable, _lossy, _data_track per side,
  // reopened on resume): 32 streams leave each side 16 ids, and cost ~3.5 KiB
  // per association where usrsctp's arrays for 1024 cost ~110 KiB.
  config.sctp_streams = 32;
  media::WebRtcTransport::Callbacks callbacks;
  Participant* self = &p;
  auto alive = std::weak_ptr<bool>(p.alive);
  auto ok = [alive] {
    auto guard = alive.lock();
    return guard && *guard;
  };
  if (publisher) {
    callbacks.on_rtp = [this, self, ok](std::span<uint8_t> buffer, size_t length) {
      if (ok()) on_publisher_rtp(*self, buffer, length);
    };
    callbacks.on_rtcp = [this, self, ok](std::span<uint8_t> buffer, size_t length) {
      if (ok()) on_publisher_rtcp(*self, buffer, length);
    };
    callbacks.on_message = [this, self, ok](uint16_t stream, MessageKind kind,
                                            std::span<const uint8_t> data) {
      if (!ok()) return;
      observer_.on_data(self->sid, self->publisher->channel_label(stream), kind, data);
    };
  } else {
    callbacks.on_rtcp = [this, self, ok](std::span<uint8_t> buffer, size_t length) {
      if (ok()) on_subscriber_rtcp(*self, buffer, length);
    };
  }
  callbacks.on_state = [this, self, ok, publisher](media::TransportState state) {
    if (ok()) observer_.on_connection_state(self->sid, publisher, state);
  };
  auto transport = std::make_shared<media::WebRtcTransport>(media_.certificate(), std::move(config),
                                                            std::move(callbacks), Clock::now());
  media_.add(transport, worker_);
  return transport;
}

void Room::add_participant(const std::string& sid, const ParticipantOptions& options) {
  if (participants_.count(sid)) remove_participant(sid);
  auto p = std::make_unique<Participant>();
  p->sid = sid;
  p->options = options;
  p->speaker_key = next_speaker_key_++;
  Participant& participant = *p;
  participants_[sid] = std::move(p);
  // The subscriber connection exists from the start: it carries the data
  // channels and every track this participant will receive.
  if (options.can_subscribe) open_subscriber(participant);
}

void Room::enable_subscriber(const std::string& sid) {
  auto it = participants_.find(sid);
  if (it == participants_.end() || it->second->subscriber) return;
  it->second->options.can_subscribe = true;
  open_subscriber(*it->second);
}

void Room::open_subscriber(Participant& participant) {
  const std::string& sid = participant.sid;
  media::WebRtcTransportConfig config;
  config.local_ufrag = random_string(8);
  config.local_password = random_string(24);
  config.data_channels = true;
  participant.subscriber = make_transport(participant, false, config);
  participant.subscriber->open_data_channel("_reliable", true,
                                            media::dcep::Reliability::reliable());
  participant.subscriber->open_data_channel("_lossy", false,
                                            media::dcep::Reliability::max_retransmits(0));
  media::OfferOptions& offer = participant.offer;
  offer.ice_ufrag = config.local_ufrag;
  offer.ice_pwd = config.local_password;
  offer.fingerprint_algorithm = media_.certificate()->fingerprint_algorithm();
  offer.fingerprint = media_.certificate()->fingerprint();
  offer.candidates = media_.candidates();
  offer.session_id = std::to_string(random_ssrc());
  offer.sections.push_back({.mid = "0", .kind = "application"});
  // Tracks already flowing are offered with the first offer (auto-subscribe).
  if (participant.options.auto_subscribe) {
    for (auto& [owner_sid, owner] : participants_) {
      if (owner_sid == sid) continue;
      for (auto& track : owner->tracks)
        if (track->started) subscribe(sid, track->announced.sid, true);
    }
  }
  renegotiate(participant);
}

void Room::remove_participant(const std::string& sid) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  Participant& p = *it->second;
  *p.alive = false;
  // Stop everyone else's subscriptions to this participant's tracks.
  for (auto& track : p.tracks) {
    tracks_.erase(track->announced.sid);
    for (Subscription* subscription : std::vector<Subscription*>(track->subscribers)) {
      Participant& subscriber = *subscription->subscriber;
      drop_subscription(*subscription);
      renegotiate(subscriber);
    }
  }
  // And this participant's own subscriptions.
  for (auto& [track_sid, subscription] : p.subscriptions) {
    auto& subscribers = subscription->track->subscribers;
    std::erase(subscribers, subscription.get());
  }
  if (p.publisher) media_.remove(p.publisher->local_ufrag());
  if (p.subscriber) media_.remove(p.subscriber->local_ufrag());
  speakers_.remove(p.speaker_key);
  participants_.erase(it);
}

OfferAnswer Room::handle_publisher_offer(const std::string& sid, const std::string& offer_text) {
  OfferAnswer result;
  auto it = participants_.find(sid);
  if (it == participants_.end()) {
    result.error = "unknown participant";
    return result;
  }
  Participant& p = *it->second;
  auto parsed = media::parse_sdp(offer_text);
  if (!parsed) {
    result.error =
        "bad SDP at line " + std::to_string(parsed.error.line) + ": " + parsed.error.reason;
    return result;
  }
  media::AnswerOptions options;
  if (p.publisher) {
    options.ice_ufrag = p.publisher->local_ufrag();
    options.ice_pwd = p.publisher_session->answer.media.empty()
                          ? std::string()
                          : p.publisher_session->answer.media.front().transport.ice_pwd;
  } else {
    options.ice_ufrag = random_string(8);
    options.ice_pwd = random_string(24);
  }
  options.fingerprint_algorithm = media_.certificate()->fingerprint_algorithm();
  options.fingerprint = media_.certificate()->fingerprint();
  options.candidates = media_.candidates();
  // transport-cc: we send transport-wide CC feedback (room_rtcp.cpp), so the
  // publisher's send-side estimator can ramp up.
  // Generic NACK: we recover upstream loss ourselves (room_rtcp.cpp).
  options.feedback = {"nack", "nack pli", "ccm fir", "transport-cc"};
  options.extensions.push_back(media::extension_uri::kTransportCc);
  // RED before Opus when the client prefers it (livekit-client does): the
  // redundancy reaches subscribers that take RED, the others get the primary.
  options.audio_codecs = {"red", "opus"};
  if (p.publisher_session) options.session_id = p.publisher_session->answer.origin.session_id;
  auto negotiated = media::negotiate_answer(*parsed.session, options);
  if (!negotiated) {
    result.error = negotiated.error;
    return result;
  }
  if (!p.publisher) {
    media::WebRtcTransportConfig config;
    config.local_ufrag = options.ice_ufrag;
    config.local_password = options.ice_pwd;
    config.remote_ufrag = negotiated.session->remote_ufrag;
    config.dtls_role = negotiated.session->dtls_role;
    config.remote_fingerprint_algorithm = negotiated.session->remote_fingerprint_algorithm;
    config.remote_fingerprint = negotiated.session->remote_fingerprint;
    config.data_channels = true;
    config.sctp_remote_port = negotiated.session->remote_sctp_port;
    config.remote_max_message_size = negotiated.session->remote_max_message_size;
    p.publisher = make_transport(p, true, config);
  }
  // Which client track each section carries: the msid's track id is the cid.
  for (const media::SdpMedia& m : parsed.session->media) {
    for (const std::string& msid : m.msids) {
      auto space = msid.find(' ');
      if (space != std::string::npos) p.mid_to_cid[m.mid] = msid.substr(space + 1);
    }
  }
  // What each announced track asked for goes first.
  for (media::NegotiatedMedia& m : negotiated.session->media) {
    if (!m.accepted || m.kind == "application") continue;
    auto cid = p.mid_to_cid.find(m.mid);
    if (cid == p.mid_to_cid.end()) continue;
    for (auto& track : p.tracks)
      if (track->announced.cid == cid->second && !track->announced.codec.empty())
        prefer_codec(*negotiated.session, m, track->announced.codec);
  }
  for (const media::NegotiatedMedia& m : negotiated.session->media) {
    if (!m.accepted || m.kind == "application") continue;
    if (!p.mid_extension) p.mid_extension = media::extension_id(m, media::extension_uri::kMid);
    if (!p.rid_extension) p.rid_extension = media::extension_id(m, media::extension_uri::kRid);
    if (!p.audio_level_extension)
      p.audio_level_extension = media::extension_id(m, media::extension_uri::kAudioLevel);
    if (!p.twcc_extension)
      p.twcc_extension = media::extension_id(m, media::extension_uri::kTransportCc);
  }
  p.publisher_session = std::move(*negotiated.session);
  bind_tracks(p);
  result.answer = media::write_sdp(p.publisher_session->answer);
  return result;
}

void Room::announce_track(const std::string& sid, const TrackAnnouncement& announced) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return;
  auto track = std::make_unique<PublishedTrack>();
  track->announced = announced;
  track->owner = it->second.get();
  track->muted = announced.muted;
  size_t layers =
      announced.video ? std::max<size_t>(1, std::min(announced.rids.size(), kMaxLayers)) : 1;
  for (size_t i = 0; i < layers; ++i)
    track->buffers.push_back(std::make_unique<RetransmissionBuffer>(
        announced.video ? kVideoRingPackets : kAudioRingPackets));
  tracks_[announced.sid] = track.get();
  it->second->tracks.push_back(std::move(track));
  bind_tracks(*it->second);
}

// Matches announced tracks to the sections of the publisher offer by cid.
void Room::bind_tracks(Participant& p) {
  if (!p.publisher_session) return;
  for (auto& track : p.tracks) {
    if (!track->mid.empty()) continue;
    for (const media::NegotiatedMedia& m : p.publisher_session->media) {
      if (!m.accepted || m.codecs.empty()) continue;
      auto cid = p.mid_to_cid.find(m.mid);
      if (cid == p.mid_to_cid.end() || cid->second != track->announced.cid) continue;
      track->mid = m.mid;
      track->codec = m.codecs.front();
      track->kind = codec_of(track->codec.encoding);
      track->mime_type = (track->announced.video ? "video/" : "audio/") + track->codec.encoding;
      if (!m.rids.empty()) {
        track->announced.rids = m.rids;
      } else if (track->announced.video) {
        // One stream, whatever layers the client announced: SVC (VP9 with
        // spatial layers inside) or a camera without simulcast.
        track->announced.rids.clear();
        track->buffers.resize(1);
        track->spatial_layers = track->kind == Codec::kVp9;
      }
    }
  }
}

void Room::on_publisher_rtp(Participant& p, std::span<uint8_t> buffer, size_t length) {
  auto packet = RtpView::parse(buffer.first(length));
  if (!packet) return;
  ++stats_.packets_in;
  auto now = Clock::now();
  record_transport_cc(p, *packet, now);  // room_rtcp.cpp
  PublishedTrack* track = nullptr;
  int layer = 0;
  if (auto known = p.by_ssrc.find(packet->ssrc()); known != p.by_ssrc.end()) {
    track = known->second.first;
    layer = known->second.second;
    record_stream_packet(p, *track, *packet, now);  // receiver reports, NACKs (room_rtcp.cpp)
  } else {
    auto mid = p.mid_extension ? packet->find_extension(static_cast<uint8_t>(p.mid_extension))
                               : std::nullopt;
    if (!mid) return;  // without a mid we cannot tell its track yet
    std::string_view mid_text(reinterpret_cast<const char*>(mid->data()), mid->size());
    for (auto& candidate : p.tracks)
      if (candidate->mid == mid_text) track = candidate.get();
    if (!track) return;
    if (track->announced.video && !track->announced.rids.empty()) {
      auto rid = p.rid_extension ? packet->find_extension(static_cast<uint8_t>(p.rid_extension))
                                 : std::nullopt;
      if (!rid) return;  // RTX or probing without a rid: not mapped yet
      layer =
          layer_of_rid(track->announced.rids,
                       std::string_view(reinterpret_cast<const char*>(rid->data()), rid->size()));
      if (layer < 0 || layer >= static_cast<int>(track->buffers.size())) return;
    }
    if (packet->payload_type() != track->codec.payload_type) return;  // RTX, other codecs
    track->layer_ssrc[layer] = packet->ssrc();
    p.by_ssrc[packet->ssrc()] = {track, layer};
  }
  if (packet->payload_type() != track->codec.payload_type) return;
  // Parsed once for every subscriber.
  auto info = describe_packet(track->kind, *packet);
  if (!info) return;
  // Rates and liveness per simulcast stream, or per spatial layer of SVC.
  const size_t rate_layer = track->spatial_layers && info->vp9 && info->vp9->has_layer_indices
                                ? std::min<size_t>(info->vp9->sid, kMaxLayers - 1)
                                : static_cast<size_t>(layer);
  track->layer_bytes[rate_layer] += length;
  track->layer_last[rate_layer] = now;
  track->buffers[layer]->insert(packet->sequence_number(), buffer.first(length), now);
  if (!track->started) start_track(*track);
  if (p.audio_level_extension && !track->announced.video) {
    if (auto value = packet->find_extension(static_cast<uint8_t>(p.audio_level_extension)))
      if (auto level = parse_audio_level(*value)) speakers_.add_sample(p.speaker_key, *level, now);
  }
  forward(*track, layer, *packet, *info);
}

void Room::start_track(PublishedTrack& track) {
  track.started = true;
  observer_.on_track_started(track.owner->sid, track.announced.sid, track.mime_type);
}

void Room::forward(PublishedTrack& track, int layer, const RtpView& packet,
                   const PacketInfo& info) {
  auto now = Clock::now();
  for (Subscription* subscription : track.subscribers) {
    if (!subscription->bound) continue;
    auto length = subscription->down->forward(packet, layer, info, scratch_, now);
    if (!length) continue;
    send_to_subscriber(*subscription, scratch_, *length);
  }
}

void Room::send_to_subscriber(Subscription& subscription, std::span<uint8_t> out, size_t length) {
  out[1] = static_cast<uint8_t>((out[1] & 0x80) | subscription.payload_type);
  auto time = media::abs_send_time(Clock::now());
  media::OneByteExtension element{.id = kAbsSendTimeId, .value = time};
  auto rewritten = media::replace_header_extensions(out.first(out.size() - media::kSrtpMaxOverhead),
                                                    length, std::span(&element, 1));
  if (!rewritten) return;
  // Sends and counts for the sender reports (room_rtcp.cpp).
  if (send_counted(subscription, out, *rewritten)) ++stats_.packets_out;
}

std::string Room::handle_subscriber_answer(const std::string& sid, const std::string& answer_text,
                                           uint32_t id) {
  auto it = participants_.find(sid);
  if (it == participants_.end()) return "unknown participant";
  Participant& p = *it->second;
  // Id 0: a client that does not echo offer ids (rtc-node) answers the current one.
  if (!p.awaiting_answer || (id != 0 && id != p.offer_id))
    return "not an answer to the current offer";
  auto parsed = media::parse_sdp(answer_text);
  if (!parsed) return "bad SDP: " + parsed.error.reason;
  auto read = media::read_answer(p.sent_mids, *parsed.session);
  if (!read) return read.error;
  if (!p.dtls_set) {
    p.subscriber->set_remote_dtls(read.answer->dtls_role, read.answer->remote_fingerprint_algorithm,
                                  read.answer->remote_fingerprint);
    p.dtls_set = true;
  }
  auto now = Clock::now();
  for (const media::AcceptedSection& section : read.answer->sections) {
    for (auto& [track_sid, subscription] : p.subscriptions) {
      if (subscription->mid != section.mid || subscription->bound) continue;
      subscription->bound = section.accepted;
      if (!subscription->bound) continue;
      choose_payload_type(*subscription, section.payload_types);
      subscription->down->start(now);
    }
  }
  p.awaiting_answer = false;
  if (p.offer_dirty) renegotiate(p);
  return {};
}

// The answer's payload types, in the order we offered: the first the
// subscriber accepted is what we send. A RED track goes to a subscriber that
// refused RED as plain Opus (the primary block of each packet).
void Room::choose_payload_type(Subscription& subscription, const std::vector<int>& accepted) {
  for (const auto& section : subscription.subscriber->offer.sections) {
    if (section.mid != subscription.mid) continue;
    for (const media::SdpCodec& codec : section.codecs) {
      if (std::find(accepted.begin(), accepted.end(), codec.payload_type) == accepted.end())
        continue;
      subscription.payload_type = codec.payload_type;
      subscription.down->set_red_primary_only(subscription.track->kind == Codec::kRed &&
                                              codec_of(codec.encoding) != Codec::kRed);
      return;
    }
  }
}

void Room::renegotiate(Participant& p) {
  if (!p.subscriber) return;
  if (p.awaiting_answer) {
    p.offer_dirty = true;  // one offer at a time: the next follows the answer
    return;
  }
  p.offer_dirty = false;
  p.awaiting_answer = true;
  ++p.offer_id;
  ++p.offer.session_version;
  const media::SdpSession offer = media::build_offer(p.offer);
  p.sent_mids.clear();
  for (const media::SdpMedia& m : offer.media)
    p.sent_mids.push_back(m.mid);
  observer_.on_subscriber_offer(p.sid, media::write_sdp(offer), p.offer_id);
}

void Room::subscribe(const std::string& subscriber_sid, const std::string& track_sid, bool on) {
  auto it = participants_.find(subscriber_sid);
  auto track_it = tracks_.find(track_sid);
  if (it == participants_.end() || track_it == tracks_.end()) return;
  Participant& p = *it->second;
  PublishedTrack& track = *track_it->second;
  if (!p.subscriber || track.owner == &p) return;
  auto existing = p.subscriptions.find(track_sid);
  if (!on) {
    if (existing == p.subscriptions.end()) return;
    drop_subscription(*existing->second);
    renegotiate(p);
    return;
  }
  if (existing != p.subscriptions.end() || !track.started) return;
  auto subscription = std::make_unique<Subscription>();
  subscription->subscriber = &p;
  subscription->track = &track;
  subscription->ssrc = random_ssrc();
  // Reuse an inactive section (a track that went away) before adding one.
  media::OfferedSection* section = nullptr;
  for (auto& s : p.offer.sections) {
    if (s.kind == (track.announced.video ? "video" : "audio") &&
        s.direction == media::SdpDirection::kInactive)
      section = &s;
  }
  if (!section) {
    p.offer.sections.push_back(
        {.mid = std::to_string(p.next_mid++), .kind = track.announced.video ? "video" : "audio"});
    section = &p.offer.sections.back();
  }
  section->direction = media::SdpDirection::kSendOnly;
  section->codecs = track.announced.video
                        ? media::subscriber_video_codecs(track.codec.encoding)
                        : media::subscriber_audio_codecs(track.kind == Codec::kRed);
  // Encrypted media passes exactly as published (as LiveKit does, no RED
  // mapping): an encrypted RED track goes only to subscribers taking RED.
  if (track.kind == Codec::kRed && track.announced.encrypted)
    std::erase_if(section->codecs, [](const media::SdpCodec& c) { return c.encoding != "red"; });
  // H.264 profile and VP9 profile as published: the subscriber decodes what
  // the publisher encodes, so offer exactly that.
  if (track.announced.video && !track.codec.fmtp.empty() && track.kind != Codec::kVp8)
    section->codecs.front().fmtp = track.codec.fmtp;
  // RTX streams are not sent yet: offer only the media codec.
  std::erase_if(section->codecs, [](const media::SdpCodec& c) { return c.encoding == "rtx"; });
  section->extmaps = {{.id = kAbsSendTimeId, .uri = media::extension_uri::kAbsSendTime}};
  section->ssrc = subscription->ssrc;
  section->rtx_ssrc.reset();
  section->cname = track.owner->sid;
  section->stream_id = track.owner->sid + "|" + track.announced.sid;
  section->track_id = track.announced.sid;
  subscription->mid = section->mid;
  subscription->payload_type = section->codecs.front().payload_type;
  DownTrackConfig config;
  config.ssrc = subscription->ssrc;
  config.clock_rate = track.codec.clock_rate ? track.codec.clock_rate : 90000;
  config.codec = track.kind;
  // A NACK can be answered only while the track's ring holds the packet: an
  // audio ring keeps 128, so a longer sequencer would only take memory.
  if (!track.announced.video) config.sequencer_capacity = kAudioRingPackets;
  Room::PublishedTrack* track_ptr = &track;
  subscription->down = std::make_unique<DownTrack>(
      config, [this, track_ptr](int layer) { request_keyframe(*track_ptr, layer); });
  auto now = Clock::now();
  for (size_t layer = 0; layer < track.layer_count(); ++layer) {
    bool active = track.layer_ssrc[track.spatial_layers ? 0 : layer] != 0 &&
                  now - track.layer_last[layer] < std::chrono::seconds(2);
    subscription->down->set_layer(static_cast<int>(layer), active, 0, now);
  }
  if (track.muted) subscription->down->pause();
  track.subscribers.push_back(subscription.get());
  p.subscriptions[track_sid] = std::move(subscription);
  renegotiate(p);
}

void Room::drop_subscription(Subscription& subscription) {
  Participant& p = *subscription.subscriber;
  std::erase(subscription.track->subscribers, &subscription);
  for (auto& section : p.offer.sections) {
    if (section.mid == subscription.mid) {
      section.direction = media::SdpDirection::kInactive;
      section.ssrc = 0;
    }
  }
  p.subscriptions.erase(subscription.track->announced.sid);  // destroys `subscription`
}

void Room::unpublish_track(const std::string& sid, const std::string& track_sid) {
  auto it = participants_.find(sid);
  auto track_it = tracks_.find(track_sid);
  if (it == participants_.end() || track_it == tracks_.end()) return;
  PublishedTrack* track = track_it->second;
  if (track->owner != it->second.get()) return;
  for (Subscription* subscription : std::vector<Subscription*>(track->subscribers)) {
    Participant& subscriber = *subscription->subscriber;
    drop_subscription(*subscription);
    renegotiate(subscriber);
  }
  tracks_.erase(track_it);
  Participant& p = *it->second;
  std::erase_if(p.by_ssrc, [&](const auto& entry) { return entry.second.first == track; });
  std::erase_if(p.tracks, [&](const auto& t) { return t.get() == track; });
}

void Room::set_track_muted(const std::string& sid, const std::string& track_sid, bool muted) {
  auto track_it = tracks_.find(track_sid);
  if (track_it == tracks_.end() || track_it->second->owner->sid != sid) return;
  PublishedTrack& track = *track_it->second;
  track.muted = muted;
  auto now = Clock::now();
  for (Subscription* subscription : track.subscribers) {
    if (muted)
      subscription->down->pause();
    else
      subscription->down->resume(now);
  }
}

void Room::set_max_layer(const std::string& subscriber, const std::string& track_sid, int layer) {
  auto it = participants_.find(subscriber);
  if (it == participants_.end()) return;
  auto subscription = it->second->subscriptions.find(track_sid);
  if (subscription == it->second->subscriptions.end()) return;
  subscription->second->max_layer = layer;
  subscription->second->down->set_max_layer(layer, Clock::now());
}

bool Room::send_data(const std::string& sid, const std::string& label, MessageKind kind,
                     std::span<const uint8_t> data) {
  auto it = participants_.find(sid);
  if (it == participants_.end() || !it->second->subscriber) return false;
  return it->second->subscriber->send_message(label, kind, data);
}

std::vector<std::pair<std::string, std::string>> Room::started_tracks() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [sid, p] : participants_)
    for (const auto& track : p->tracks)
      if (track->started) out.emplace_back(sid, track->announced.sid);
  return out;
}

void Room::tick(Clock::time_point now) {
  // Layer liveness and bitrates, every 100 ms, over the last second.
  const size_t slot = tick_count_++ % kRateWindow;
  for (auto& [sid, p] : participants_) {
    for (auto& track : p->tracks) {
      uint64_t below = 0;  // SVC: a spatial layer costs the layers under it too
      for (size_t layer = 0; layer < track->layer_count(); ++layer) {
        bool active = track->layer_ssrc[track->spatial_layers ? 0 : layer] != 0 &&
                      now - track->layer_last[layer] < std::chrono::milliseconds(1500);
        auto& window = track->layer_window[layer];
        window[slot] = track->layer_bytes[layer];
        track->layer_bytes[layer] = 0;
        uint64_t bytes = 0;
        for (uint64_t b : window)
          bytes += b;
        uint64_t bitrate = bytes * 8 + below;  // the window is one second
        if (track->spatial_layers) below = bitrate;
        for (Subscription* subscription : track->subscribers) {
          subscription->down->set_layer(static_cast<int>(layer), active, bitrate, now);
          subscription->down->tick(now);
        }
      }
    }
  }
  SpeakerDetector::Update update;
  if (speakers_.update(now, update)) {
    std::vector<SpeakerLevel> levels;
    for (const auto& info : update.active) {
      for (const auto& [sid, p] : participants_)
        if (p->speaker_key == info.participant) levels.push_back({sid, info.level, info.active});
    }
    observer_.on_speakers(levels);
  }
  send_reports(now);  // RTCP per leg: TWCC, RR, SR (room_rtcp.cpp)
}

}  // namespace atrium::sfu
