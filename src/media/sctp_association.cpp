#include "media/sctp_association.hpp"

#include <usrsctp.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace atrium::media {
namespace {

// Lets usrsctp's C callbacks, which carry only an opaque id, find a live
// association. Leaked on purpose: usrsctp outlives static destruction.
struct Registry {
  std::mutex mutex;
  std::unordered_map<uintptr_t, SctpAssociation*> live;
  uintptr_t next_id = 1;
};
Registry& registry() {
  static auto* instance = new Registry;
  return *instance;
}

void* as_address(uintptr_t id) {
  return reinterpret_cast<void*>(id);
}

sockaddr_conn conn_address(uintptr_t id, uint16_t port) {
  sockaddr_conn address{};
  address.sconn_family = AF_CONN;
  address.sconn_port = htons(port);
  address.sconn_addr = as_address(id);
  return address;
}

// Large enough for a DATA_CHANNEL_OPEN with the longest label and protocol.
constexpr size_t kMaxDcepSize = dcep::kOpenHeaderSize + 2 * 0xFFFF;
// Path MTU of the SCTP packets inside DTLS inside UDP: what browsers use, safe
// on any real path, so usrsctp does no path MTU discovery of its own.
constexpr uint32_t kSctpMtu = 1200;

template <typename T>
bool set_option(struct socket* socket, int level, int name, const T& value) {
  return usrsctp_setsockopt(socket, level, name, &value, sizeof(value)) == 0;
}

}  // namespace

// usrsctp's C callbacks. They run on whatever thread is inside usrsctp and
// only queue (receive, send space) or hand the packet on (output).
struct SctpGlue {
  static void init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
      // No UDP encapsulation port, no debug printer, no threads: timers are
      // driven by SctpAssociation::handle_timers.
      usrsctp_init_nothreads(0, &SctpGlue::output, nullptr);
      // Browsers do not negotiate ECN on data channels.
      usrsctp_sysctl_set_sctp_ecn_enable(0);
      // Each socket holds one association: its association hash needs no
      // buckets to speak of (the default 256 cost 2 KiB per socket).
      usrsctp_tunable_set_sctp_pcbtblsize(4);
    });
  }

  static int output(void* address, void* buffer, size_t size, uint8_t /*tos*/, uint8_t /*set_df*/) {
    auto& reg = registry();
    std::unique_lock registry_lock(reg.mutex);
    const auto it = reg.live.find(reinterpret_cast<uintptr_t>(address));
    if (it == reg.live.end()) return 0;  // destroyed: nowhere to send
    SctpAssociation& association = *it->second;
    // Taken before the registry lock is released: the destructor waits for it.
    std::lock_guard output_lock(association.output_mutex_);
    registry_lock.unlock();
    if (association.callbacks_.send_packet) {
      association.callbacks_.send_packet({static_cast<const uint8_t*>(buffer), size});
    }
    return 0;
  }

  static int receive(struct socket*, union sctp_sockstore, void* data, size_t size,
                     struct sctp_rcvinfo info, int flags, void* ulp_info) {
    // usrsctp hands over a malloc'd buffer (nullptr when the socket closes).
    std::unique_ptr<uint8_t, SctpAssociation::FreeDeleter> bytes(static_cast<uint8_t*>(data));
    if (!bytes) return 1;
    SctpAssociation::Inbound inbound;
    inbound.type = (flags & MSG_NOTIFICATION) ? SctpAssociation::Inbound::Type::kNotification
                                              : SctpAssociation::Inbound::Type::kData;
    inbound.stream = info.rcv_sid;
    inbound.ppid = ntohl(info.rcv_ppid);
    inbound.end_of_record = (flags & MSG_EOR) != 0;
    inbound.bytes = std::move(bytes);
    inbound.size = size;
    deliver(ulp_info, std::move(inbound));
    return 1;
  }

  static int send_space(struct socket*, uint32_t /*free_bytes*/, void* ulp_info) {
    SctpAssociation::Inbound inbound;
    inbound.type = SctpAssociation::Inbound::Type::kWritable;
    deliver(ulp_info, std::move(inbound));
    return 0;
  }

  static void deliver(void* ulp_info, SctpAssociation::Inbound inbound) {
    auto& reg = registry();
    std::lock_guard registry_lock(reg.mutex);
    const auto it = reg.live.find(reinterpret_cast<uintptr_t>(ulp_info));
    if (it == reg.live.end()) return;
    SctpAssociation& association = *it->second;
    if (inbound.type == SctpAssociation::Inbound::Type::kWritable &&
        !association.blocked_.exchange(false)) {
      return;  // nobody is waiting for room
    }
    association.enqueue(std::move(inbound));
  }
};

void SctpAssociation::FreeDeleter::operator()(void* p) const {
  std::free(p);
}

SctpAssociation::SctpAssociation(const SctpConfig& config, SctpCallbacks callbacks)
    : config_(config), callbacks_(std::move(callbacks)), id_([] {
        auto& reg = registry();
        std::lock_guard lock(reg.mutex);
        return reg.next_id++;
      }()) {
  SctpGlue::init_once();
  {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    reg.live.emplace(id_, this);
  }
  usrsctp_register_address(as_address(id_));
  const size_t largest = std::max(config_.max_message_size, config_.remote_max_message_size);
  const auto buffer =
      static_cast<uint32_t>(std::clamp<size_t>(4 * largest, size_t{1} << 20, size_t{64} << 20));
  socket_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, &SctpGlue::receive,
                           &SctpGlue::send_space, buffer / 2, as_address(id_));
  if (!socket_ || !configure_socket(buffer)) state_ = SctpState::kFailed;
}

bool SctpAssociation::configure_socket(uint32_t buffer) {
  if (usrsctp_set_non_blocking(socket_, 1) != 0) return false;
  // Closing aborts at once instead of lingering on a transport that is gone.
  const linger abort_on_close{1, 0};
  if (!set_option(socket_, SOL_SOCKET, SO_LINGER, abort_on_close)) return false;
  // Room for several maximum-size messages each way, sent and received whole.
  const int buffer_size = static_cast<int>(buffer);
  if (!set_option(socket_, SOL_SOCKET, SO_SNDBUF, buffer_size)) return false;
  if (!set_option(socket_, SOL_SOCKET, SO_RCVBUF, buffer_size)) return false;
  // Channels close by resetting their streams (RFC 8831 section 6.7).
  const sctp_assoc_value reset{SCTP_FUTURE_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
  if (!set_option(socket_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset)) return false;
  // The stream id and PPID of every received message.
  const int on = 1;
  if (!set_option(socket_, IPPROTO_SCTP, SCTP_RECVRCVINFO, on)) return false;
  // Data channel messages are latency sensitive: no Nagle.
  if (!set_option(socket_, IPPROTO_SCTP, SCTP_NODELAY, on)) return false;
  sctp_initmsg init{};
  init.sinit_num_ostreams = config_.streams;
  init.sinit_max_instreams = config_.streams;
  if (!set_option(socket_, IPPROTO_SCTP, SCTP_INITMSG, init)) return false;
  for (const uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SEND_FAILED_EVENT,
                              SCTP_REMOTE_ERROR, SCTP_SHUTDOWN_EVENT}) {
    sctp_event event{};
    event.se_assoc_id = SCTP_FUTURE_ASSOC;
    event.se_type = type;
    event.se_on = 1;
    if (!set_option(socket_, IPPROTO_SCTP, SCTP_EVENT, event)) return false;
  }
  sockaddr_conn local = conn_address(id_, config_.local_port);
  return usrsctp_bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0;
}

SctpAssociation::~SctpAssociation() {
  // Aborts the association (an ABORT may go out through send_packet now).
  if (socket_) usrsctp_close(socket_);
  socket_ = nullptr;
  {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    reg.live.erase(id_);
  }
  // Wait for a send_packet that found us before we left the registry.
  { std::lock_guard wait(output_mutex_); }
  usrsctp_deregister_address(as_address(id_));
}

void SctpAssociation::handle_timers(uint32_t elapsed_ms) {
  SctpGlue::init_once();
  usrsctp_handle_timers(elapsed_ms);
}

bool SctpAssociation::start() {
  if (!socket_ || state_ != SctpState::kNew) return false;
  set_state(SctpState::kConnecting);
  sockaddr_conn remote = conn_address(id_, config_.remote_port);
  const int rc = usrsctp_connect(socket_, reinterpret_cast<sockaddr*>(&remote), sizeof(remote));
  if (rc != 0 && errno != EINPROGRESS) {
    set_state(SctpState::kFailed);
    drain();
    return false;
  }
  // A fixed MTU that fits DTLS and UDP overhead; no path MTU discovery.
  sctp_paddrparams params{};
  std::memcpy(&params.spp_address, &remote, sizeof(remote));
  params.spp_flags = SPP_PMTUD_DISABLE;
  params.spp_pathmtu = kSctpMtu;
  (void)set_option(socket_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, params);
  drain();
  return true;
}

void SctpAssociation::handle_packet(std::span<const uint8_t> packet) {
  // Before start() the socket neither listens nor connects: usrsctp would
  // answer an INIT with an ABORT.
  if (!socket_ || state_ == SctpState::kNew || packet.empty()) return;
  usrsctp_conninput(as_address(id_), packet.data(), packet.size(), 0);
  drain();
}

void SctpAssociation::poll() {
  reset_pending_streams();
  drain();
}

std::optional<DataChannelInfo> SctpAssociation::channel(uint16_t stream) const {
  const auto it = channels_.find(stream);
  if (it == channels_.end()) return std::nullopt;
  return it->second.info;
}

SendResult SctpAssociation::send_message(uint16_t stream, MessageKind kind,
                                         std::span<const uint8_t> data) {
  if (state_ != SctpState::kConnected) return SendResult::kNotConnected;
  const auto it = channels_.find(stream);
  if (it == channels_.end() || it->second.closing) return SendResult::kUnknownStream;
  if (data.size() > config_.remote_max_message_size) return SendResult::kTooBig;
  const Channel& channel = it->second;
  // RFC 8832 section 6: ordered until the peer has acknowledged the open.
  const bool unordered = !channel.info.ordered && channel.acked;
  dcep::Reliability reliability;
  if (channel.info.max_retransmits) {
    reliability = dcep::Reliability::max_retransmits(*channel.info.max_retransmits);
  } else if (channel.info.max_packet_lifetime_ms) {
    reliability = dcep::Reliability::max_lifetime_ms(*channel.info.max_packet_lifetime_ms);
  }
  // SCTP has no empty user messages: one ignored byte under PPID 56/57.
  static constexpr uint8_t kEmptyPlaceholder[1] = {0};
  const auto payload = data.empty() ? std::span<const uint8_t>(kEmptyPlaceholder) : data;
  const SendResult result =
      send_raw(stream, dcep::ppid_for(kind, data.empty()), unordered, reliability, payload);
  drain();
  return result;
}

std::optional<uint16_t> SctpAssociation::open_channel(const std::string& label,
                                                      const std::string& protocol, bool ordered,
                                                      dcep::Reliability reliability,
                                                      uint16_t priority) {
  if (state_ != SctpState::kConnected) return std::nullopt;
  std::optional<uint16_t> stream;
  // 65535 is reserved (RFC 8831 section 6.5).
  const uint32_t limit = std::min<uint32_t>(outbound_streams_, 0xFFFF);
  for (uint32_t id = config_.dtls_client ? 0 : 1; id < limit; id += 2) {
    const auto candidate = static_cast<uint16_t>(id);
    if (!channels_.contains(candidate) && !pending_resets_.contains(candidate) &&
        !resetting_.contains(candidate)) {
      stream = candidate;
      break;
    }
  }
  if (!stream) return std::nullopt;

  dcep::OpenMessage open;
  open.ordered = ordered;
  open.reliability = reliability;
  open.priority = priority;
  open.label = label;
  open.protocol = protocol;
  const auto message = dcep::build_open(open);
  if (!message) return std::nullopt;
  // DCEP messages are always ordered and reliable.
  if (send_raw(*stream, dcep::kPpidDcep, false, {}, *message) != SendResult::kOk) {
    drain();
    return std::nullopt;
  }
  Channel channel;
  channel.info.stream_id = *stream;
  channel.info.label = label;
  channel.info.protocol = protocol;
  channel.info.ordered = ordered;
  channel.info.priority = priority;
  if (reliability.policy == dcep::Reliability::Policy::kMaxRetransmits) {
    channel.info.max_retransmits = reliability.value;
  } else if (reliability.policy == dcep::Reliability::Policy::kMaxLifetime) {
    channel.info.max_packet_lifetime_ms = reliability.value;
  }
  channel.opened_locally = true;
  channels_.emplace(*stream, std::move(channel));
  drain();
  return stream;
}

bool SctpAssociation::close_channel(uint16_t stream) {
  const auto it = channels_.find(stream);
  if (it == channels_.end() || it->second.closing) return false;
  it->second.closing = true;
  pending_resets_.insert(stream);
  reset_pending_streams();
  drain();
  return true;
}

SendResult SctpAssociation::send_raw(uint16_t stream, uint32_t ppid, bool unordered,
                                     dcep::Reliability reliability, std::span<const uint8_t> data) {
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = stream;
  spa.sendv_sndinfo.snd_flags = unordered ? SCTP_UNORDERED : 0;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  if (reliability.policy != dcep::Reliability::Policy::kReliable) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = reliability.policy == dcep::Reliability::Policy::kMaxRetransmits
                                     ? SCTP_PR_SCTP_RTX
                                     : SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = reliability.value;
  }
  const auto sent = usrsctp_sendv(socket_, data.data(), data.size(), nullptr, 0, &spa, sizeof(spa),
                                  SCTP_SENDV_SPA, 0);
  if (sent >= 0) {
    return static_cast<size_t>(sent) == data.size() ? SendResult::kOk : SendResult::kError;
  }
  switch (errno) {
    case EWOULDBLOCK:
      blocked_ = true;
      return SendResult::kWouldBlock;
    case EMSGSIZE:
      return SendResult::kTooBig;
    default:
      return SendResult::kError;
  }
}

void SctpAssociation::enqueue(Inbound inbound) {
  std::lock_guard lock(inbound_mutex_);
  inbound_.push_back(std::move(inbound));
}

void SctpAssociation::drain() {
  // A callback that calls back into us lands here again: the outer loop
  // picks up whatever its calls queued, keeping events in order.
  if (draining_) return;
  draining_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{draining_};
  std::vector<Inbound> batch;
  for (;;) {
    {
      std::lock_guard lock(inbound_mutex_);
      batch.swap(inbound_);
    }
    if (batch.empty()) return;
    for (auto& inbound : batch) {
      switch (inbound.type) {
        case Inbound::Type::kData:
          handle_data(inbound);
          break;
        case Inbound::Type::kNotification:
          handle_notification({inbound.bytes.get(), inbound.size});
          break;
        case Inbound::Type::kWritable:
          if (callbacks_.on_writable) callbacks_.on_writable();
          break;
      }
    }
    batch.clear();
  }
}

void SctpAssociation::handle_data(Inbound& inbound) {
  const std::span<const uint8_t> part(inbound.bytes.get(), inbound.size);
  // Every part of a message carries its PPID: DCEP messages get their own bound.
  const size_t limit = inbound.ppid == dcep::kPpidDcep ? kMaxDcepSize : config_.max_message_size;
  auto it = reassembly_.find(inbound.stream);
  const bool pending = it != reassembly_.end() && !it->second.bytes.empty();
  if (inbound.end_of_record && !pending && (it == reassembly_.end() || !it->second.oversized)) {
    // The usual case: whole in one delivery, no copy.
    if (part.size() <= limit) handle_message(inbound.stream, inbound.ppid, part);
    return;
  }
  if (it == reassembly_.end()) it = reassembly_.emplace(inbound.stream, Reassembly{}).first;
  Reassembly& r = it->second;
  if (!r.oversized && r.bytes.size() + part.size() > limit) {
    r.oversized = true;
    std::vector<uint8_t>().swap(r.bytes);
  }
  if (!r.oversized) r.bytes.insert(r.bytes.end(), part.begin(), part.end());
  if (!inbound.end_of_record) return;
  const bool deliver = !r.oversized;
  std::vector<uint8_t> message = std::move(r.bytes);
  r.bytes.clear();
  r.oversized = false;
  if (r.legacy.empty() && !r.legacy_oversized) reassembly_.erase(it);
  if (deliver) handle_message(inbound.stream, inbound.ppid, message);
}

void SctpAssociation::handle_message(uint16_t stream, uint32_t ppid,
                                     std::span<const uint8_t> payload) {
  const auto type = dcep::classify_ppid(ppid);
  if (!type) return;  // not a WebRTC PPID
  using Role = dcep::PayloadType::Role;
  if (type->role == Role::kControl) {
    handle_dcep(stream, payload);
    return;
  }
  const auto it = channels_.find(stream);
  if (it == channels_.end()) return;  // no channel: RFC 8831 says discard
  Channel& channel = it->second;
  if (channel.opened_locally && !channel.acked) {
    // Any message from the peer implies it saw our open (RFC 8832 section 6).
    channel.acked = true;
    if (callbacks_.on_channel_acked) callbacks_.on_channel_acked(stream);
  }
  if (type->role == Role::kEmpty) {
    if (callbacks_.on_message) callbacks_.on_message(stream, type->kind, {});
    return;
  }
  if (type->role == Role::kPartial) {
    Reassembly& r = reassembly_[stream];
    if (r.legacy.size() + payload.size() > config_.max_message_size) {
      r.legacy_oversized = true;
      std::vector<uint8_t>().swap(r.legacy);
    }
    if (!r.legacy_oversized) r.legacy.insert(r.legacy.end(), payload.begin(), payload.end());
    return;
  }
  const auto legacy = reassembly_.find(stream);
  if (legacy == reassembly_.end() ||
      (legacy->second.legacy.empty() && !legacy->second.legacy_oversized)) {
    if (callbacks_.on_message) callbacks_.on_message(stream, type->kind, payload);
    return;
  }
  // The final part of a deprecated PPID-partial message.
  std::vector<uint8_t> message = std::move(legacy->second.legacy);
  const bool oversized =
      legacy->second.legacy_oversized || message.size() + payload.size() > config_.max_message_size;
  legacy->second.legacy.clear();
  legacy->second.legacy_oversized = false;
  if (legacy->second.bytes.empty() && !legacy->second.oversized) reassembly_.erase(legacy);
  if (oversized) return;
  message.insert(message.end(), payload.begin(), payload.end());
  if (callbacks_.on_message) callbacks_.on_message(stream, type->kind, message);
}

void SctpAssociation::handle_dcep(uint16_t stream, std::span<const uint8_t> payload) {
  const auto type = dcep::message_type(payload);
  if (!type) return;
  if (*type == dcep::kMessageOpen) {
    const auto open = dcep::parse_open(payload);
    // A stream already in use (or still closing) is a protocol violation: ignore.
    if (!open || channels_.contains(stream)) return;
    Channel channel;
    channel.info.stream_id = stream;
    channel.info.label = open->label;
    channel.info.protocol = open->protocol;
    channel.info.ordered = open->ordered;
    channel.info.priority = open->priority;
    if (open->reliability.policy == dcep::Reliability::Policy::kMaxRetransmits) {
      channel.info.max_retransmits = open->reliability.value;
    } else if (open->reliability.policy == dcep::Reliability::Policy::kMaxLifetime) {
      channel.info.max_packet_lifetime_ms = open->reliability.value;
    }
    channel.acked = true;
    const DataChannelInfo info = channel.info;
    channels_.emplace(stream, std::move(channel));
    const auto ack = dcep::build_ack();
    (void)send_raw(stream, dcep::kPpidDcep, false, {}, ack);
    if (callbacks_.on_channel_open) callbacks_.on_channel_open(info);
  } else if (*type == dcep::kMessageAck) {
    if (!dcep::parse_ack(payload)) return;
    const auto it = channels_.find(stream);
    if (it == channels_.end() || !it->second.opened_locally || it->second.acked) return;
    it->second.acked = true;
    if (callbacks_.on_channel_acked) callbacks_.on_channel_acked(stream);
  }
}

void SctpAssociation::handle_notification(std::span<const uint8_t> bytes) {
  decltype(sctp_notification::sn_header) header{};
  if (bytes.size() < sizeof(header)) return;
  std::memcpy(&header, bytes.data(), sizeof(header));
  switch (header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      sctp_assoc_change change{};
      if (bytes.size() < sizeof(change)) return;
      std::memcpy(&change, bytes.data(), sizeof(change));
      switch (change.sac_state) {
        case SCTP_COMM_UP:
        case SCTP_RESTART:
          outbound_streams_ = change.sac_outbound_streams;
          set_state(SctpState::kConnected);
          break;
        case SCTP_COMM_LOST:
        case SCTP_CANT_STR_ASSOC:
          set_state(SctpState::kFailed);
          break;
        case SCTP_SHUTDOWN_COMP:
          set_state(SctpState::kClosed);
          break;
        default:
          break;
      }
      break;
    }
    case SCTP_STREAM_RESET_EVENT:
      handle_stream_reset(bytes);
      break;
    default:
      // Send failures are partially reliable messages given up on: expected.
      break;
  }
}

void SctpAssociation::handle_stream_reset(std::span<const uint8_t> bytes) {
  sctp_stream_reset_event event{};
  if (bytes.size() < sizeof(event)) return;
  std::memcpy(&event, bytes.data(), sizeof(event));
  // An empty list means every stream; a length below the header means no list.
  const size_t length = std::clamp<size_t>(event.strreset_length, sizeof(event), bytes.size());
  std::vector<uint16_t> streams((length - sizeof(event)) / sizeof(uint16_t));
  std::memcpy(streams.data(), bytes.data() + sizeof(event), streams.size() * sizeof(uint16_t));
  const bool failed =
      (event.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0;

  if (event.strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
    // Our outgoing reset finished (or was refused): the ids are ours again.
    if (streams.empty()) {
      resetting_.clear();
    } else {
      for (const uint16_t stream : streams)
        resetting_.erase(stream);
    }
  }
  if (!failed && (event.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)) {
    if (streams.empty()) {
      for (const auto& [stream, channel] : channels_)
        streams.push_back(stream);
    }
    std::vector<uint16_t> closed;
    for (const uint16_t stream : streams) {
      reassembly_.erase(stream);
      const auto it = channels_.find(stream);
      if (it == channels_.end()) continue;
      // The peer closed first: close our side too (RFC 8831 section 6.7).
      if (!it->second.closing) pending_resets_.insert(stream);
      channels_.erase(it);
      closed.push_back(stream);
    }
    reset_pending_streams();
    for (const uint16_t stream : closed) {
      if (callbacks_.on_channel_closed) callbacks_.on_channel_closed(stream);
    }
    return;
  }
  // A reset that could not start earlier (one was in flight) may start now.
  reset_pending_streams();
}

void SctpAssociation::reset_pending_streams() {
  if (pending_resets_.empty() || !socket_ || state_ != SctpState::kConnected) return;
  const size_t count = pending_resets_.size();
  // uint32_t storage keeps the struct aligned.
  std::vector<uint32_t> storage((sizeof(sctp_reset_streams) + count * sizeof(uint16_t) + 3) /
                                sizeof(uint32_t));
  auto* request = reinterpret_cast<sctp_reset_streams*>(storage.data());
  request->srs_assoc_id = SCTP_FUTURE_ASSOC;
  request->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  request->srs_number_streams = static_cast<uint16_t>(count);
  size_t i = 0;
  for (const uint16_t stream : pending_resets_)
    request->srs_stream_list[i++] = stream;
  const auto size = static_cast<socklen_t>(sizeof(sctp_reset_streams) + count * sizeof(uint16_t));
  // Fails while another reset is in flight; retried on its completion or on poll().
  if (usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_RESET_STREAMS, request, size) != 0) return;
  resetting_.insert(pending_resets_.begin(), pending_resets_.end());
  pending_resets_.clear();
}

void SctpAssociation::set_state(SctpState state) {
  if (state_ == state) return;
  state_ = state;
  if (state == SctpState::kClosed || state == SctpState::kFailed) {
    channels_.clear();
    reassembly_.clear();
    pending_resets_.clear();
    resetting_.clear();
  }
  if (callbacks_.on_state) callbacks_.on_state(state);
}

}  // namespace atrium::media
