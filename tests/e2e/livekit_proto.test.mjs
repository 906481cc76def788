// Conformance of Atrium's own livekit.* .proto subset (src/livekit/proto)
// against @livekit/protocol, both ways, through the C++ helper
// atrium-livekit-proto (tests/tools/livekit_proto):
//   package toBinary() -> `atrium-livekit-proto decode T` -> protojson, which
//     must equal the package's toJson() (after normalising float32 values) and
//     parse back (fromJson) to an equal message;
//   package toJsonString() -> `atrium-livekit-proto encode T` -> binary, which
//     the package's fromBinary() must read back as an equal message;
//   unknown-field tolerance: fields the package knows but we leave out decode
//     fine and survive `reencode` byte-for-byte in meaning.
// Needs no server and no network. Skipped, with a message, while the binary
// does not exist.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as lk from "@livekit/protocol";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PROTO_BIN = process.env.ATRIUM_LIVEKIT_PROTO_BIN || path.join(REPO_ROOT, "build", "bin", "atrium-livekit-proto");
const skip = existsSync(PROTO_BIN) ? null : `${PROTO_BIN} does not exist yet (build target atrium-livekit-proto)`;
if (skip) console.log(`livekit proto conformance tests skipped: ${skip}`);

function tool(mode, typeName, input) {
  const r = spawnSync(PROTO_BIN, [mode, typeName], { input, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `atrium-livekit-proto ${mode} ${typeName} failed: ${r.stderr}`);
  return r.stdout;
}

// protobuf-es prints float32 fields as the widened double (0.30000001192…),
// protobuf C++ as the shortest float; compare both as float32.
function normalise(v) {
  if (typeof v === "number") return Math.fround(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

function checkBothWays(original) {
  const T = original.getType();
  // Canonical form first: float32 fields hold what the wire can carry.
  const msg = T.fromBinary(original.toBinary());
  const name = T.typeName;
  // package -> C++ (binary in, protojson out)
  const json = JSON.parse(tool("decode", name, Buffer.from(msg.toBinary())).toString("utf8"));
  assert.deepStrictEqual(normalise(json), normalise(msg.toJson()), `${name}: C++ protojson differs from the package's`);
  // (through binary again: C++ prints float32 0.3 as 0.3, which JS reads as a double)
  assert.ok(T.fromBinary(T.fromJson(json).toBinary()).equals(msg), `${name}: C++ protojson does not parse back to the same message`);
  // C++ -> package (protojson in, binary out)
  const bin = tool("encode", name, Buffer.from(msg.toJsonString()));
  const back = T.fromBinary(new Uint8Array(bin));
  assert.ok(back.equals(msg), `${name}: C++ binary decodes to ${back.toJsonString()}, want ${msg.toJsonString()}`);
}

const {
  SignalRequest, SignalResponse, JoinResponse, Room, ParticipantInfo, ParticipantInfo_State, ParticipantInfo_Kind,
  ParticipantPermission, TrackInfo, TrackType, TrackSource, VideoLayer, VideoQuality, SimulcastCodecInfo, Encryption_Type,
  ServerInfo, ServerInfo_Edition, ICEServer, ClientConfiguration, ClientConfigSetting, VideoConfiguration, DisabledCodecs,
  Codec, SessionDescription, TrickleRequest, SignalTarget, AddTrackRequest, SimulcastCodec, MuteTrackRequest,
  UpdateSubscription, ParticipantTracks, UpdateTrackSettings, LeaveRequest, LeaveRequest_Action, DisconnectReason, Ping,
  ParticipantUpdate, TrackPublishedResponse, SpeakersChanged, SpeakerInfo, ConnectionQualityUpdate, ConnectionQualityInfo,
  ConnectionQuality, Pong, RequestResponse, RequestResponse_Reason, DataPacket, DataPacket_Kind, UserPacket, RpcRequest,
  WebhookEvent, ListParticipantsResponse, SubscriptionPermission, TrackPermission, UpdateParticipantMetadata,
  StreamStateUpdate, StreamStateInfo, StreamState, SubscribedQualityUpdate, SubscribedCodec, SubscribedQuality,
  ReconnectResponse, RoomUpdate, SubscriptionResponse, SubscriptionError, MediaSectionsRequirement, ChatMessage,
  DataStream_Header, DataStream_TextHeader, DataStream_OperationType, EncryptedPacket, RpcResponse, RpcError,
  WrappedJoinRequest, WrappedJoinRequest_Compression, JoinRequest, ClientInfo, ClientInfo_SDK, ConnectionSettings,
  AudioTrackFeature, BackupCodecPolicy, VideoLayer_Mode, PacketTrailerFeature, TrackUnpublishedResponse,
  UpdateLocalAudioTrack, DataTrackInfo, PublishDataTrackRequest,
} = lk;

const permission = () => new ParticipantPermission({
  canSubscribe: true, canPublish: true, canPublishData: true, canUpdateMetadata: true,
  canPublishSources: [TrackSource.CAMERA, TrackSource.MICROPHONE],
});
const videoTrack = () => new TrackInfo({
  sid: "TR_VCabc", type: TrackType.VIDEO, name: "camera", width: 1280, height: 720, source: TrackSource.CAMERA,
  simulcast: true, mimeType: "video/VP8", mid: "1", encryption: Encryption_Type.GCM, stream: "camera",
  layers: [
    new VideoLayer({ quality: VideoQuality.LOW, width: 320, height: 180, bitrate: 150000, ssrc: 1111, rid: "q" }),
    new VideoLayer({ quality: VideoQuality.HIGH, width: 1280, height: 720, bitrate: 1700000, ssrc: 3333, rid: "f" }),
  ],
  codecs: [new SimulcastCodecInfo({ mimeType: "video/VP8", mid: "1", cid: "cid-v", layers: [new VideoLayer({ quality: VideoQuality.MEDIUM, width: 640, height: 360 })], videoLayerMode: VideoLayer_Mode.MULTIPLE_SPATIAL_LAYERS_PER_STREAM })],
  backupCodecPolicy: BackupCodecPolicy.SIMULCAST,
});
const audioTrack = () => new TrackInfo({
  sid: "TR_AMdef", type: TrackType.AUDIO, name: "mic", muted: true, source: TrackSource.MICROPHONE, mimeType: "audio/opus",
  disableDtx: true, stereo: false, audioFeatures: [AudioTrackFeature.TF_ECHO_CANCELLATION, AudioTrackFeature.TF_NOISE_SUPPRESSION],
});
const alice = () => new ParticipantInfo({
  sid: "PA_alice", identity: "@alice:example.org:DEV", state: ParticipantInfo_State.JOINED, name: "Alice",
  metadata: "{\"m\":1}", joinedAt: 1700000000n, joinedAtMs: 1700000000123n, version: 3, permission: permission(),
  tracks: [videoTrack(), audioTrack()], isPublisher: true, kind: ParticipantInfo_Kind.STANDARD,
  attributes: { "org.matrix.msc4143": "x", b: "" }, clientProtocol: 1,
});
const bob = () => new ParticipantInfo({
  sid: "PA_bob", identity: "bob", state: ParticipantInfo_State.ACTIVE, kind: ParticipantInfo_Kind.AGENT, region: "local",
  disconnectReason: DisconnectReason.CLIENT_INITIATED,
});

const cases = {
  JoinResponse: () => new SignalResponse({ message: { case: "join", value: new JoinResponse({
    room: new Room({ sid: "RM_room", name: "!room:example.org", emptyTimeout: 300, departureTimeout: 20, maxParticipants: 50,
      creationTime: 1700000000n, creationTimeMs: 1700000000999n, metadata: "meta", numParticipants: 2, numPublishers: 1, activeRecording: false }),
    participant: alice(), otherParticipants: [bob()], serverVersion: "1.9.0",
    iceServers: [new ICEServer({ urls: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"], username: "u", credential: "c" })],
    subscriberPrimary: true, alternativeUrl: "", serverRegion: "local", pingTimeout: 15, pingInterval: 5,
    clientConfiguration: new ClientConfiguration({ resumeConnection: ClientConfigSetting.DISABLED, forceRelay: ClientConfigSetting.UNSET,
      video: new VideoConfiguration({ hardwareEncoder: ClientConfigSetting.ENABLED }), disabledCodecs: new DisabledCodecs({ codecs: [new Codec({ mime: "video/AV1" })] }) }),
    serverInfo: new ServerInfo({ edition: ServerInfo_Edition.Standard, version: "1.9.0", protocol: 16, region: "local", nodeId: "ND_1", debugInfo: "atrium" }),
    sifTrailer: new Uint8Array([0, 1, 2, 250, 255]), enabledPublishCodecs: [new Codec({ mime: "video/VP8" }), new Codec({ mime: "audio/opus", fmtpLine: "minptime=10;useinbandfec=1" })],
    fastPublish: true,
  }) } }),
  offer: () => new SignalRequest({ message: { case: "offer", value: new SessionDescription({ type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", id: 4, midToTrackId: { 0: "TR_AMdef", 1: "TR_VCabc" } }) } }),
  answer: () => new SignalRequest({ message: { case: "answer", value: new SessionDescription({ type: "answer", sdp: "v=0\r\n", id: 9 }) } }),
  trickle: () => new SignalRequest({ message: { case: "trickle", value: new TrickleRequest({
    candidateInit: JSON.stringify({ candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" }),
    target: SignalTarget.SUBSCRIBER, final: true }) } }),
  add_track: () => new SignalRequest({ message: { case: "addTrack", value: new AddTrackRequest({
    cid: "d0c7e1b2-track", name: "camera", type: TrackType.VIDEO, width: 1280, height: 720, source: TrackSource.CAMERA,
    layers: [new VideoLayer({ quality: VideoQuality.LOW, width: 320, height: 180, bitrate: 150000 }), new VideoLayer({ quality: VideoQuality.HIGH, width: 1280, height: 720, bitrate: 1700000 })],
    simulcastCodecs: [new SimulcastCodec({ codec: "vp8", cid: "d0c7e1b2-track", layers: [new VideoLayer({ quality: VideoQuality.MEDIUM, width: 640, height: 360 })], videoLayerMode: VideoLayer_Mode.ONE_SPATIAL_LAYER_PER_STREAM }), new SimulcastCodec({ codec: "h264", cid: "" })],
    encryption: Encryption_Type.GCM, stream: "camera", backupCodecPolicy: BackupCodecPolicy.PREFER_REGRESSION, disableRed: true,
    packetTrailerFeatures: [PacketTrailerFeature.PTF_USER_TIMESTAMP],
  }) } }),
  mute: () => new SignalRequest({ message: { case: "mute", value: new MuteTrackRequest({ sid: "TR_VCabc", muted: true }) } }),
  subscription: () => new SignalRequest({ message: { case: "subscription", value: new UpdateSubscription({ trackSids: ["TR_1", "TR_2"], subscribe: true,
    participantTracks: [new ParticipantTracks({ participantSid: "PA_bob", trackSids: ["TR_1"] })] }) } }),
  track_setting: () => new SignalRequest({ message: { case: "trackSetting", value: new UpdateTrackSettings({ trackSids: ["TR_1"], disabled: false, quality: VideoQuality.MEDIUM, width: 640, height: 360, fps: 30, priority: 2 }) } }),
  leave: () => new SignalRequest({ message: { case: "leave", value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.RECONNECT, canReconnect: true }) } }),
  ping: () => new SignalRequest({ message: { case: "ping", value: 1700000000000n } }),
  ping_req: () => new SignalRequest({ message: { case: "pingReq", value: new Ping({ timestamp: 1700000000000n, rtt: 42n }) } }),
  subscription_permission: () => new SignalRequest({ message: { case: "subscriptionPermission", value: new SubscriptionPermission({ allParticipants: false,
    trackPermissions: [new TrackPermission({ participantSid: "PA_bob", allTracks: false, trackSids: ["TR_1"], participantIdentity: "bob" })] }) } }),
  update_metadata: () => new SignalRequest({ message: { case: "updateMetadata", value: new UpdateParticipantMetadata({ metadata: "m", name: "n", attributes: { a: "1" }, requestId: 7 }) } }),
  update_audio_track: () => new SignalRequest({ message: { case: "updateAudioTrack", value: new UpdateLocalAudioTrack({ trackSid: "TR_AMdef", features: [AudioTrackFeature.TF_STEREO] }) } }),
  update: () => new SignalResponse({ message: { case: "update", value: new ParticipantUpdate({ participants: [alice(), bob()] }) } }),
  track_published: () => new SignalResponse({ message: { case: "trackPublished", value: new TrackPublishedResponse({ cid: "d0c7e1b2-track", track: videoTrack() }) } }),
  track_unpublished: () => new SignalResponse({ message: { case: "trackUnpublished", value: new TrackUnpublishedResponse({ trackSid: "TR_VCabc" }) } }),
  speakers_changed: () => new SignalResponse({ message: { case: "speakersChanged", value: new SpeakersChanged({ speakers: [new SpeakerInfo({ sid: "PA_alice", level: 0.3, active: true }), new SpeakerInfo({ sid: "PA_bob", level: 0, active: false })] }) } }),
  connection_quality: () => new SignalResponse({ message: { case: "connectionQuality", value: new ConnectionQualityUpdate({ updates: [new ConnectionQualityInfo({ participantSid: "PA_alice", quality: ConnectionQuality.EXCELLENT, score: 4.7 }), new ConnectionQualityInfo({ participantSid: "PA_bob", quality: ConnectionQuality.LOST })] }) } }),
  stream_state_update: () => new SignalResponse({ message: { case: "streamStateUpdate", value: new StreamStateUpdate({ streamStates: [new StreamStateInfo({ participantSid: "PA_bob", trackSid: "TR_1", state: StreamState.PAUSED })] }) } }),
  subscribed_quality_update: () => new SignalResponse({ message: { case: "subscribedQualityUpdate", value: new SubscribedQualityUpdate({ trackSid: "TR_VCabc",
    subscribedCodecs: [new SubscribedCodec({ codec: "vp8", qualities: [new SubscribedQuality({ quality: VideoQuality.LOW, enabled: true }), new SubscribedQuality({ quality: VideoQuality.HIGH, enabled: false })] })] }) } }),
  room_update: () => new SignalResponse({ message: { case: "roomUpdate", value: new RoomUpdate({ room: new Room({ sid: "RM_room", name: "r", metadata: "new" }) }) } }),
  refresh_token: () => new SignalResponse({ message: { case: "refreshToken", value: "eyJhbGciOiJIUzI1NiJ9.e30.sig" } }),
  pong: () => new SignalResponse({ message: { case: "pong", value: 1700000000000n } }),
  pong_resp: () => new SignalResponse({ message: { case: "pongResp", value: new Pong({ lastPingTimestamp: 1700000000000n, timestamp: 1700000000010n }) } }),
  request_response: () => new SignalResponse({ message: { case: "requestResponse", value: new RequestResponse({ requestId: 7, reason: RequestResponse_Reason.NOT_ALLOWED, message: "no" }) } }),
  reconnect: () => new SignalResponse({ message: { case: "reconnect", value: new ReconnectResponse({ iceServers: [new ICEServer({ urls: ["stun:127.0.0.1:3478"] })], clientConfiguration: new ClientConfiguration({ resumeConnection: ClientConfigSetting.ENABLED }), serverInfo: new ServerInfo({ version: "1.9.0" }), lastMessageSeq: 12 }) } }),
  subscription_response: () => new SignalResponse({ message: { case: "subscriptionResponse", value: new SubscriptionResponse({ trackSid: "TR_1", err: SubscriptionError.SE_TRACK_NOTFOUND }) } }),
  leave_response: () => new SignalResponse({ message: { case: "leave", value: new LeaveRequest({ reason: DisconnectReason.ROOM_DELETED, action: LeaveRequest_Action.DISCONNECT }) } }),
  media_sections_requirement: () => new SignalResponse({ message: { case: "mediaSectionsRequirement", value: new MediaSectionsRequirement({ numAudios: 2, numVideos: 3 }) } }),
  data_user: () => new DataPacket({ kind: DataPacket_Kind.RELIABLE, participantIdentity: "alice", destinationIdentities: ["bob", "carol"], sequence: 17, participantSid: "PA_alice",
    value: { case: "user", value: new UserPacket({ payload: new Uint8Array([0, 1, 2, 3, 254, 255]), topic: "chat", destinationIdentities: ["bob"], id: "msg-1", startTime: 5n, nonce: new Uint8Array([9]) }) } }),
  data_rpc: () => new DataPacket({ participantIdentity: "alice", sequence: 2,
    value: { case: "rpcRequest", value: new RpcRequest({ id: "rpc-1", method: "greet", payload: "{\"hi\":1}", responseTimeoutMs: 10000, version: 1 }) } }),
  data_rpc_response: () => new DataPacket({ value: { case: "rpcResponse", value: new RpcResponse({ requestId: "rpc-1", value: { case: "error", value: new RpcError({ code: 1500, message: "boom", data: "d" }) } }) } }),
  data_chat: () => new DataPacket({ value: { case: "chatMessage", value: new ChatMessage({ id: "c1", timestamp: 1700000000000n, message: "hello", generated: false }) } }),
  data_stream_header: () => new DataPacket({ value: { case: "streamHeader", value: new DataStream_Header({ streamId: "s1", timestamp: 1n, topic: "lk.chat", mimeType: "text/plain", totalLength: 10n, attributes: { a: "b" },
    contentHeader: { case: "textHeader", value: new DataStream_TextHeader({ operationType: DataStream_OperationType.UPDATE, version: 2, replyToStreamId: "s0", generated: true }) } }) } }),
  data_encrypted: () => new DataPacket({ kind: DataPacket_Kind.LOSSY, value: { case: "encryptedPacket", value: new EncryptedPacket({ encryptionType: Encryption_Type.GCM, iv: new Uint8Array(12).fill(7), keyIndex: 3, encryptedValue: new Uint8Array([1, 2, 3]) }) } }),
  webhook: () => new WebhookEvent({ event: "participant_joined", room: new Room({ sid: "RM_room", name: "r" }), participant: bob(), track: audioTrack(), id: "EV_abc", createdAt: 1700000000n, numDropped: 0 }),
  list_participants: () => new ListParticipantsResponse({ participants: [alice(), bob()] }),
  wrapped_join: () => new WrappedJoinRequest({ compression: WrappedJoinRequest_Compression.NONE, joinRequest: new JoinRequest({
    clientInfo: new ClientInfo({ sdk: ClientInfo_SDK.JS, version: "2.21.0", protocol: 17, os: "Linux", browser: "Chrome", clientProtocol: 2 }),
    connectionSettings: new ConnectionSettings({ autoSubscribe: true, adaptiveStream: true }), metadata: "m", participantAttributes: { x: "y" },
    addTrackRequests: [new AddTrackRequest({ cid: "c", type: TrackType.AUDIO })],
    publisherOffer: new SessionDescription({ type: "offer", sdp: "v=0\r\n", id: 1 }), reconnect: false, participantSid: "" }).toBinary() }),
};

describe("livekit proto conformance with @livekit/protocol", { skip: skip || false }, () => {
  for (const [name, make] of Object.entries(cases)) {
    test(`both ways: ${name}`, () => checkBothWays(make()));
  }

  test("every SignalRequest/SignalResponse case we model is covered (excluding data tracks)", () => {
    const covered = new Set(Object.values(cases).map((m) => m().message?.case).filter(Boolean));
    for (const c of ["offer", "answer", "trickle", "addTrack", "mute", "subscription", "trackSetting", "leave", "ping", "pingReq",
      "update", "trackPublished", "speakersChanged", "connectionQuality", "refreshToken", "pongResp", "requestResponse"]) {
      assert.ok(covered.has(c), `no conformance case for ${c}`);
    }
  });

  test("unknown fields: a ParticipantInfo with data_tracks (not modelled here) decodes and survives reencode", () => {
    const withData = alice();
    withData.dataTracks = [new DataTrackInfo({ sid: "DTR_1", name: "d" })];
    const msg = new SignalResponse({ message: { case: "update", value: new ParticipantUpdate({ participants: [withData] }) } });
    const json = JSON.parse(tool("decode", "livekit.SignalResponse", Buffer.from(msg.toBinary())).toString("utf8"));
    const expected = msg.toJson();
    delete expected.update.participants[0].dataTracks;
    assert.deepStrictEqual(json, expected);
    const again = SignalResponse.fromBinary(new Uint8Array(tool("reencode", "livekit.SignalResponse", Buffer.from(msg.toBinary()))));
    assert.ok(again.equals(msg), `reencoded: ${again.toJsonString()}`);
  });

  test("unknown fields: a data-track SignalRequest case (reserved here) decodes to {} and survives reencode", () => {
    const msg = new SignalRequest({ message: { case: "publishDataTrackRequest", value: new PublishDataTrackRequest({ name: "d", pubHandle: 3 }) } });
    assert.deepStrictEqual(JSON.parse(tool("decode", "SignalRequest", Buffer.from(msg.toBinary())).toString("utf8")), {});
    const again = SignalRequest.fromBinary(new Uint8Array(tool("reencode", "SignalRequest", Buffer.from(msg.toBinary()))));
    assert.ok(again.equals(msg), `reencoded: ${again.toJsonString()}`);
  });

  test("bad input is rejected", () => {
    const r = spawnSync(PROTO_BIN, ["decode", "SignalRequest"], { input: Buffer.from([0x0a, 0x05, 0x01]) });
    assert.equal(r.status, 1);
    const e = spawnSync(PROTO_BIN, ["encode", "SignalRequest"], { input: Buffer.from("{\"nope\":1}") });
    assert.equal(e.status, 1);
    const u = spawnSync(PROTO_BIN, ["decode", "NoSuchMessage"], { input: Buffer.alloc(0) });
    assert.equal(u.status, 2);
  });
});
