#include "sfu/room.hpp"

#include <algorithm>
#include <limits>
#include <random>

#include "media/rtcp.hpp"
#include "media/rtcp_feedback.hpp"
#include "media/rtp_rewrite.hpp"
#include "sfu/codec.hpp"

namespace atrium::sfu {

using media::MessageKind;
using media::RtpView;

namespace {

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

// The extension id our subscriber offers use for abs-send-time (REMB needs it).
constexpr uint8_t kAbsSendTimeId = 3;
constexpr size_t kMaxLayers = 3;
// Layer bitrates are measured over this many 100 ms ticks (1 s). One tick
// alone holds one or two frames at 15-30 fps, and a key frame is several
// times a delta frame: a 100 ms bitrate jumps far above the layer's real rate
// and made the selector drop a large render to the low layer at every key
// frame, then climb back (a visible quality flapping).
constexpr size_t kRateWindow = 10;

}  // namespace

struct Room::PublishedTrack {
  TrackAnnouncement announced;
  Participant* owner = nullptr;
  std::string mid;        // on the owner's publisher connection; empty until bound
  std::string mime_type;  // "video/VP8"
  media::SdpCodec codec;  // as negotiated on the publisher connection
  Codec kind = Codec::kOther;
  bool started = false;
  bool muted = false;
  std::array<uint32_t, kMaxLayers> layer_ssrc{};  // 0: not seen yet
  std::array<uint64_t, kMaxLayers> layer_bytes{};  // since the last tick
  // Bytes per layer in each of the last kRateWindow ticks: the bitrate the
  // layer selector compares with the downstream estimate is over this window.
  std::array<std::array<uint64_t, kRateWindow>, kMaxLayers> layer_window{};
  std::array<Clock::time_point, kMaxLayers> layer_last{};
  std::vector<std::unique_ptr<RetransmissionBuffer>> buffers;  // per layer
  std::vector<Subscription*> subscribers;
};

struct Room::Subscription {
  Participant* subscriber = nullptr;
  PublishedTrack* track = nullptr;
  std::string mid;  // on the subscriber connection
  uint32_t ssrc = 0;
  int payload_type = 0;  // what the subscriber's section uses
  bool bound = false;    // the answer accepted the section
  int max_layer = static_cast<int>(kMaxLayers) - 1;  // set_max_layer's (-1: disabled)
  std::unique_ptr<DownTrack> down;
};

struct Room::Participant {
  std::string sid;
  ParticipantOptions options;
  uint64_t speaker_key = 0;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  // Publisher connection.
  std::shared_ptr<media::WebRtcTransport> publisher;
  std::optional<media::NegotiatedSession> publisher_session;
  std::map<std::string, std::string> mid_to_cid;  // from the offer's msid lines
  std::vector<std::unique_ptr<PublishedTrack>> tracks;
  std::unordered_map<uint32_t, std::pair<PublishedTrack*, int>> by_ssrc;
  int mid_extension = 0, rid_extension = 0, audio_level_extension = 0;
  // Subscriber connection.
  std::shared_ptr<media::WebRtcTransport> subscriber;
  media::OfferOptions offer;
  media::SdpSession sent_offer;  // the one the next answer answers
  uint32_t offer_id = 0;
  bool awaiting_answer = false;
  bool offer_dirty = false;
  bool dtls_set = false;
  int next_mid = 1;                                                    // "0" is the data channels
  std::optional<Clock::time_point> congested_at;  // last estimate below what we sent
  std::map<std::string, std::unique_ptr<Subscription>> subscriptions;  // by track sid
};

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
  if (!options.can_subscribe) return;
  // The subscriber connection exists from the start: it carries the data
  // channels and every track this participant will receive.
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
  // Tracks already flowing are offered with the first offer.
  for (auto& [owner_sid, owner] : participants_) {
    if (owner_sid == sid) continue;
    for (auto& track : owner->tracks)
      if (track->started) subscribe(sid, track->announced.sid, true);
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
  options.feedback = {"nack pli", "ccm fir"};
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
  for (const media::NegotiatedMedia& m : negotiated.session->media) {
    if (!m.accepted || m.kind == "application") continue;
    if (!p.mid_extension) p.mid_extension = media::extension_id(m, media::extension_uri::kMid);
    if (!p.rid_extension) p.rid_extension = media::extension_id(m, media::extension_uri::kRid);
    if (!p.audio_level_extension)
      p.audio_level_extension = media::extension_id(m, media::extension_uri::kAudioLevel);
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
    track->buffers.push_back(std::make_unique<RetransmissionBuffer>(announced.video ? 1024 : 128));
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
      if (!m.rids.empty()) track->announced.rids = m.rids;
    }
  }
}

void Room::on_publisher_rtp(Participant& p, std::span<uint8_t> buffer, size_t length) {
  auto packet = RtpView::parse(buffer.first(length));
  if (!packet) return;
  ++stats_.packets_in;
  auto now = Clock::now();
  PublishedTrack* track = nullptr;
  int layer = 0;
  if (auto known = p.by_ssrc.find(packet->ssrc()); known != p.by_ssrc.end()) {
    track = known->second.first;
    layer = known->second.second;
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
  track->layer_bytes[layer] += length;
  track->layer_last[layer] = now;
  track->buffers[layer]->insert(packet->sequence_number(), buffer.first(length), now);
  if (!track->started) start_track(*track);
  if (p.audio_level_extension && !track->announced.video) {
    if (auto value = packet->find_extension(static_cast<uint8_t>(p.audio_level_extension)))
      if (auto level = parse_audio_level(*value)) speakers_.add_sample(p.speaker_key, *level, now);
  }
  forward(*track, layer, *packet);
}

void Room::start_track(PublishedTrack& track) {
  track.started = true;
  observer_.on_track_started(track.owner->sid, track.announced.sid, track.mime_type);
}

void Room::forward(PublishedTrack& track, int layer, const RtpView& packet) {
  auto now = Clock::now();
  for (Subscription* subscription : track.subscribers) {
    if (!subscription->bound) continue;
    auto length = subscription->down->forward(packet, layer, scratch_, now);
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
  if (subscription.subscriber->subscriber->send_rtp(out, *rewritten)) ++stats_.packets_out;
}

void Room::request_keyframe(PublishedTrack& track, int layer) {
  if (!track.owner->publisher || layer < 0 || layer >= static_cast<int>(kMaxLayers)) return;
  uint32_t ssrc = track.layer_ssrc[layer];
  if (!ssrc) return;
  std::vector<uint8_t> pli;
  media::rtcp::append_pli(pli, 1, ssrc);
  pli.resize(pli.size() + media::kSrtpMaxOverhead);
  if (track.owner->publisher->send_rtcp(pli, pli.size() - media::kSrtpMaxOverhead))
    ++stats_.keyframe_requests;
}

void Room::on_publisher_rtcp(Participant&, std::span<uint8_t>, size_t) {
  // Sender reports and the publisher's receiver reports are terminated here:
  // each leg has its own RTCP.
}

void Room::on_subscriber_rtcp(Participant& p, std::span<uint8_t> buffer, size_t length) {
  media::rtcp::CompoundIterator packets(buffer.first(length));
  auto now = Clock::now();
  while (auto packet = packets.next()) {
    auto feedback = media::rtcp::parse_feedback(*packet);
    if (!feedback) continue;
    if (auto remb = media::rtcp::parse_remb(*feedback)) {
      allocate_bandwidth(p, remb->bitrate_bps, now);
      continue;
    }
    Subscription* subscription = nullptr;
    for (auto& [sid, s] : p.subscriptions)
      if (s->ssrc == feedback->media_ssrc) subscription = s.get();
    if (!subscription) continue;
    PublishedTrack& track = *subscription->track;
    if (media::rtcp::is_pli(*feedback) || feedback->format == media::rtcp::kFmtFir) {
      request_keyframe(track, std::max(0, subscription->down->selector().current()));
    } else if (auto lost = media::rtcp::parse_nack(*feedback)) {
      for (const Retransmission& r : subscription->down->on_nack(*lost)) {
        if (r.layer < 0 || r.layer >= static_cast<int>(track.buffers.size())) continue;
        auto stored = track.buffers[r.layer]->find(r.source_sequence);
        if (!stored) continue;
        auto source = RtpView::parse(stored->packet);
        if (!source) continue;
        auto out = subscription->down->rewrite_retransmission(*source, r.output_sequence, scratch_);
        if (!out) continue;
        send_to_subscriber(*subscription, scratch_, *out);
        ++stats_.nacks_answered;
      }
    }
  }
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
  auto read = media::read_answer(p.sent_offer, *parsed.session);
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
      if (subscription->bound) subscription->down->start(now);
    }
  }
  p.awaiting_answer = false;
  if (p.offer_dirty) renegotiate(p);
  return {};
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
  p.sent_offer = media::build_offer(p.offer);
  observer_.on_subscriber_offer(p.sid, media::write_sdp(p.sent_offer), p.offer_id);
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
  section->codecs = track.announced.video ? media::subscriber_video_codecs(track.codec.encoding)
                                          : media::subscriber_audio_codecs();
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
  Room::PublishedTrack* track_ptr = &track;
  subscription->down = std::make_unique<DownTrack>(
      config, [this, track_ptr](int layer) { request_keyframe(*track_ptr, layer); });
  auto now = Clock::now();
  for (size_t layer = 0; layer < track.buffers.size(); ++layer) {
    bool active =
        track.layer_ssrc[layer] != 0 && now - track.layer_last[layer] < std::chrono::seconds(2);
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

void Room::allocate_bandwidth(Participant& p, uint64_t estimate_bps, Clock::time_point now) {
  // The receiver's estimate (REMB) covers the whole subscriber connection.
  // We do not probe, and a receiver's estimate never grows much beyond what
  // it receives: taken as a budget it pins subscribers to whatever layers
  // they got while the estimate was still ramping up (a large render stuck
  // on the low layer). So it is a congestion signal: while it is not below
  // what we send (and was not for kCongestionHold), every video gets the
  // layer its subscriber asked for; after a drop, the estimate is the budget.
  constexpr auto kCongestionHold = std::chrono::seconds(10);
  constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();
  auto layer_bps = [](const PublishedTrack& track, int layer) {
    uint64_t bytes = 0;
    for (uint64_t b : track.layer_window[layer])
      bytes += b;
    return bytes * 8;  // the window is 1 s
  };
  uint64_t sending = 0;
  std::vector<std::pair<uint64_t, Subscription*>> videos;  // (need, video)
  for (auto& [sid, s] : p.subscriptions) {
    if (!s->track->announced.video) continue;
    int current = s->down->selector().current();
    if (current >= 0 && current < static_cast<int>(kMaxLayers))
      sending += layer_bps(*s->track, current);
    uint64_t need = s->max_layer < 0 ? 0 : kUnknown;
    for (int layer = std::min<int>(s->max_layer, kMaxLayers - 1); layer >= 0; --layer) {
      uint64_t bps = layer_bps(*s->track, layer);
      if (bps == 0) continue;  // not sent (yet): the next lower one
      need = bps * 3 / 2;      // half again for variation
      break;
    }
    videos.emplace_back(need, s.get());
  }
  if (estimate_bps * 100 < sending * 85) p.congested_at = now;
  if (!p.congested_at || now - *p.congested_at >= kCongestionHold) {
    for (auto& [need, s] : videos)
      s->down->set_bandwidth(0, now);  // no limit
    return;
  }
  // Congested: split the estimate between the videos by water-filling: a
  // video held to a lower layer (adaptive stream: a small render) gets what
  // that layer needs, and what it leaves goes to the others.
  std::sort(videos.begin(), videos.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  uint64_t left = estimate_bps;
  for (size_t i = 0; i < videos.size(); ++i) {
    const bool last = i + 1 == videos.size();
    uint64_t share = left / (videos.size() - i);
    uint64_t give = last ? left : std::min(videos[i].first, share);
    left -= give;
    // 0 would mean "no limit" to the layer selector.
    videos[i].second->down->set_bandwidth(std::max<uint64_t>(give, 1), now);
  }
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
      for (size_t layer = 0; layer < track->buffers.size(); ++layer) {
        bool active = track->layer_ssrc[layer] != 0 &&
                      now - track->layer_last[layer] < std::chrono::milliseconds(1500);
        auto& window = track->layer_window[layer];
        window[slot] = track->layer_bytes[layer];
        track->layer_bytes[layer] = 0;
        uint64_t bytes = 0;
        for (uint64_t b : window)
          bytes += b;
        uint64_t bitrate = bytes * 8;  // the window is one second
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
}

}  // namespace atrium::sfu
