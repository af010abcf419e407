// SecureLink: framing, state machine and replay window around the Noise XX handshake.
// See nitro/link.h for the contract and the wire format.
#include "nitro/link.h"

#include <sodium.h>

#include <cstring>
#include <deque>
#include <vector>

#include "crypto/noise.h"
#include "nitro/assert.h"
#include "nitro/seq_window.h"

namespace nitro::crypto {
namespace {

constexpr std::uint8_t kMsg1 = 0x01, kMsg2 = 0x02, kMsg3 = 0x03, kTransport = 0x04;
constexpr std::string_view kPrologue = "nitro-link/1";
constexpr std::size_t kEdKeyBytes = 32;  // handshake payload: the Ed25519 public key
constexpr std::size_t kMsg1FrameBytes = 1 + noise::XXHandshake::kMsg1Bytes;
constexpr std::size_t kMsg2FrameBytes = 1 + noise::XXHandshake::kMsg2Bytes + kEdKeyBytes + kLinkTagBytes;
constexpr std::size_t kMsg3FrameBytes = 1 + noise::XXHandshake::kMsg3Bytes + kEdKeyBytes + kLinkTagBytes;
static_assert(kMsg1FrameBytes == 33 && kMsg2FrameBytes == 129 && kMsg3FrameBytes == 97);
static_assert(kReplayWindow == SeqWindow::kBits);
// Transport frames that overtake msg3 on a reordering pipe wait for it, within these bounds.
constexpr std::size_t kEarlyFramesMax = 8;
constexpr std::size_t kEarlyBytesMax = 64u << 10;

Code code_for(FrameError e) {
  switch (e) {
    case FrameError::kMalformed:
    case FrameError::kOversize: return Code::kDecodeError;
    case FrameError::kUnexpected:
    case FrameError::kClosed: return Code::kFailedPrecondition;
    case FrameError::kAuthFailed: return Code::kUnauthenticated;
    case FrameError::kReplayed: return Code::kAlreadyExists;
    case FrameError::kTooOld: return Code::kOutOfRange;
    case FrameError::kPeerMismatch: return Code::kPermissionDenied;
    case FrameError::kBackpressure: return Code::kResourceExhausted;
    case FrameError::kNone: break;
  }
  return Code::kInternal;
}

std::uint64_t get_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

const char* frame_error_name(FrameError e) {
  static constexpr const char* kNames[kFrameErrorCount] = {
      "none", "malformed", "oversize", "unexpected", "auth_failed",
      "replayed", "too_old", "peer_mismatch", "closed", "backpressure"};
  auto i = static_cast<std::size_t>(e);
  return i < kFrameErrorCount ? kNames[i] : "unknown";
}

std::uint64_t LinkCounters::rejected_total() const {
  std::uint64_t total = 0;
  for (auto n : rejected) total += n;
  return total;
}

struct SecureLink::Impl {
  Impl(bool initiator, const Identity& identity, const Seed& ephemeral_seed, std::optional<PeerId> expected,
       const LinkLimits& limits)
      : initiator(initiator),
        limits(limits),
        local_ed(identity.peer_id()),
        expected(std::move(expected)),
        hs(initiator, noise::KeyPair{identity.x25519_public(), identity.x25519_secret()},
           noise::KeyPair::from_secret(ephemeral_seed), as_bytes(kPrologue)) {
    NITRO_ASSERT(limits.transmit_queue_max > 0);  // room for at least one handshake frame
    NITRO_ASSERT(limits.event_queue_max > 0);     // room for the Established/Failed event
    NITRO_ASSERT(limits.rekey_shift >= 12);       // an epoch spans far more than the replay window
    NITRO_ASSERT(limits.rekey_shift <= 62);
  }
  ~Impl() { wipe(); }

  void wipe() {
    hs.wipe();
    sodium_memzero(send_key.data(), send_key.size());
    sodium_memzero(recv_key.data(), recv_key.size());
    sodium_memzero(prev_key.data(), prev_key.size());
  }

  Status reject(FrameError e, std::string message) {
    counters.rejected[static_cast<std::size_t>(e)]++;
    last_error = e;
    return Status(code_for(e), std::move(message));
  }
  Status fail(FrameError e, const Status& why) {
    counters.rejected[static_cast<std::size_t>(e)]++;
    last_error = e;
    wipe();
    transmit.clear();  // a failed handshake sends nothing more
    early.clear();
    state = LinkState::kFailed;
    events.push_back(LinkEvent{LinkEvent::Kind::kFailed, PeerId{}, why, {}});
    return why;
  }

  std::uint8_t awaited_type() const {
    if (state != LinkState::kHandshaking) return 0;
    if (initiator) return kMsg2;
    return msg1_done ? kMsg3 : kMsg1;
  }

  Status handle(std::span<const std::uint8_t> frame);
  Status handle_handshake(std::uint8_t type, std::span<const std::uint8_t> body);
  Status on_msg1(std::span<const std::uint8_t> body);
  Status on_msg2(std::span<const std::uint8_t> body);
  Status on_msg3(std::span<const std::uint8_t> body);
  Status accept_remote(const Bytes& ed_key);
  void establish();
  Status handle_transport(std::span<const std::uint8_t> frame);
  Status stash_early(std::span<const std::uint8_t> frame);
  void replay_early();
  Status send(std::span<const std::uint8_t> plaintext);
  Status rekey();
  std::uint64_t epoch_of(std::uint64_t counter) const { return counter >> limits.rekey_shift; }
  Status open_transport(std::uint64_t counter, std::span<const std::uint8_t> frame, Bytes& plaintext);
  void queue_frame(std::uint8_t type, const Bytes& body);

  const bool initiator;
  const LinkLimits limits;
  const PeerId local_ed;
  const std::optional<PeerId> expected;
  noise::XXHandshake hs;
  LinkState state = LinkState::kHandshaking;
  bool msg1_done = false;  // responder: msg1 read, msg2 sent
  std::optional<PeerId> remote;
  std::array<std::uint8_t, 32> hash{};
  noise::Key send_key{};
  noise::Key recv_key{};
  std::uint64_t send_counter = 0;
  std::uint64_t send_epoch = 0;  // send_key is the key of this epoch
  std::uint64_t recv_epoch = 0;  // recv_key is the key of this epoch
  SeqWindow recv_window;         // counters of recv_epoch
  bool has_prev = false;         // prev_key/prev_window: recv_epoch - 1, for frames straddling a rekey
  noise::Key prev_key{};
  SeqWindow prev_window;
  std::deque<Bytes> transmit;
  std::deque<LinkEvent> events;
  std::vector<Bytes> early;  // responder: transport frames that arrived before msg3
  std::size_t early_bytes = 0;
  LinkCounters counters;
  FrameError last_error = FrameError::kNone;
};

void SecureLink::Impl::queue_frame(std::uint8_t type, const Bytes& body) {
  Bytes frame;
  frame.reserve(1 + body.size());
  frame.push_back(type);
  frame.insert(frame.end(), body.begin(), body.end());
  transmit.push_back(std::move(frame));
  counters.frames_sent++;
}

Status SecureLink::Impl::handle(std::span<const std::uint8_t> frame) {
  if (state == LinkState::kFailed) return reject(FrameError::kClosed, "link failed");
  if (frame.empty()) return reject(FrameError::kMalformed, "empty frame");
  if (transmit.size() >= limits.transmit_queue_max || events.size() >= limits.event_queue_max) {
    return reject(FrameError::kBackpressure, "link queues full: poll_transmit/poll_event first");
  }
  const std::uint8_t type = frame[0];
  if (type == kTransport) return handle_transport(frame);
  if (type == kMsg1 || type == kMsg2 || type == kMsg3) return handle_handshake(type, frame.subspan(1));
  return reject(FrameError::kMalformed, "unknown frame type");
}

Status SecureLink::Impl::handle_handshake(std::uint8_t type, std::span<const std::uint8_t> body) {
  if (type != awaited_type()) return reject(FrameError::kUnexpected, "handshake frame out of order");
  const std::size_t want = type == kMsg1 ? kMsg1FrameBytes : type == kMsg2 ? kMsg2FrameBytes : kMsg3FrameBytes;
  if (body.size() + 1 != want) return reject(FrameError::kMalformed, "handshake frame: wrong length");
  Status s = type == kMsg1 ? on_msg1(body) : type == kMsg2 ? on_msg2(body) : on_msg3(body);
  if (s.ok()) counters.frames_received++;
  return s;
}

Status SecureLink::Impl::on_msg1(std::span<const std::uint8_t> body) {
  Status read = hs.read_msg1(body);
  NITRO_ASSERT(read.ok());  // length already checked; msg1 carries no authenticator
  (void)read;
  Bytes out;
  Status wrote = hs.write_msg2(local_ed.bytes(), out);
  if (!wrote.ok()) return fail(FrameError::kAuthFailed, wrote);
  msg1_done = true;
  queue_frame(kMsg2, out);
  return {};
}

Status SecureLink::Impl::on_msg2(std::span<const std::uint8_t> body) {
  Bytes payload;
  Status read = hs.read_msg2(body, payload);
  if (!read.ok()) return fail(FrameError::kAuthFailed, read);
  Status peer = accept_remote(payload);
  if (!peer.ok()) return fail(peer.code() == Code::kPermissionDenied ? FrameError::kPeerMismatch
                                                                   : FrameError::kAuthFailed, peer);
  Bytes out;
  hs.write_msg3(local_ed.bytes(), out);
  queue_frame(kMsg3, out);
  establish();
  return {};
}

Status SecureLink::Impl::on_msg3(std::span<const std::uint8_t> body) {
  Bytes payload;
  Status read = hs.read_msg3(body, payload);
  if (!read.ok()) return fail(FrameError::kAuthFailed, read);
  Status peer = accept_remote(payload);
  if (!peer.ok()) return fail(peer.code() == Code::kPermissionDenied ? FrameError::kPeerMismatch
                                                                   : FrameError::kAuthFailed, peer);
  establish();
  return {};
}

// The payload is the peer's Ed25519 key; it must convert to the X25519 static key that the
// handshake's DH operations proved the peer holds.
Status SecureLink::Impl::accept_remote(const Bytes& ed_key) {
  if (ed_key.size() != kEdKeyBytes) return unauthenticated("handshake payload: wrong length");
  noise::Key converted{};
  if (crypto_sign_ed25519_pk_to_curve25519(converted.data(), ed_key.data()) != 0 ||
      sodium_memcmp(converted.data(), hs.remote_static().data(), converted.size()) != 0) {
    return unauthenticated("handshake: identity key does not match the proven static key");
  }
  PeerId peer = PeerId::from_bytes(ed_key).value();
  if (expected && *expected != peer) return permission_denied("handshake: peer is not the expected one");
  remote = peer;
  return {};
}

void SecureLink::Impl::establish() {
  noise::Key i2r{}, r2i{};
  hs.split(i2r, r2i);
  send_key = initiator ? i2r : r2i;
  recv_key = initiator ? r2i : i2r;
  sodium_memzero(i2r.data(), i2r.size());
  sodium_memzero(r2i.data(), r2i.size());
  std::memcpy(hash.data(), hs.handshake_hash().data(), hash.size());
  hs.wipe();
  state = LinkState::kEstablished;
  events.push_back(LinkEvent{LinkEvent::Kind::kEstablished, *remote, {}, {}});
  replay_early();
}

Status SecureLink::Impl::stash_early(std::span<const std::uint8_t> frame) {
  if (early.size() >= kEarlyFramesMax || early_bytes + frame.size() > kEarlyBytesMax) {
    return reject(FrameError::kUnexpected, "too many transport frames before the handshake finished");
  }
  early.emplace_back(frame.begin(), frame.end());
  early_bytes += frame.size();
  return {};
}

// Runs the stashed frames through the normal path now that keys exist; their rejections are
// counted like any other. Frames that would overflow the event queue are dropped and counted.
void SecureLink::Impl::replay_early() {
  for (const Bytes& frame : early) {
    if (events.size() >= limits.event_queue_max) {
      (void)reject(FrameError::kBackpressure, "event queue full");
      continue;
    }
    (void)handle_transport(frame);
  }
  early.clear();
  early_bytes = 0;
}

Status SecureLink::Impl::handle_transport(std::span<const std::uint8_t> frame) {
  const std::size_t overhead = kLinkFrameHeaderBytes + kLinkTagBytes;
  if (frame.size() < overhead) return reject(FrameError::kMalformed, "transport frame truncated");
  if (frame.size() - overhead > limits.plaintext_bytes_max) return reject(FrameError::kOversize, "frame too large");
  if (state != LinkState::kEstablished) {
    if (!initiator && msg1_done) return stash_early(frame);
    return reject(FrameError::kUnexpected, "transport frame before handshake");
  }
  const std::uint64_t counter = get_u64_le(frame.data() + 1);
  Bytes plaintext(frame.size() - overhead);
  Status opened = open_transport(counter, frame, plaintext);
  if (!opened.ok()) return opened;
  counters.frames_received++;
  counters.plaintext_bytes_received += plaintext.size();
  events.push_back(LinkEvent{LinkEvent::Kind::kMessage, PeerId{}, {}, std::move(plaintext)});
  return {};
}

// Picks the key and replay window of the counter's epoch, authenticates, and only then records the
// counter and (for a frame of a later epoch) moves the receiving direction forward.
Status SecureLink::Impl::open_transport(std::uint64_t counter, std::span<const std::uint8_t> frame, Bytes& plaintext) {
  const std::uint64_t epoch = epoch_of(counter);
  const bool previous = has_prev && epoch + 1 == recv_epoch;
  if (epoch < recv_epoch && !previous) return reject(FrameError::kTooOld, "frame of a retired key");
  if (epoch > recv_epoch + kRekeySkipMax) return reject(FrameError::kAuthFailed, "frame cannot be authenticated: too many keys ahead");
  if (epoch <= recv_epoch) {
    SeqWindow& window = previous ? prev_window : recv_window;
    switch (window.check(counter)) {
      case SeqWindow::Verdict::kReplayed: return reject(FrameError::kReplayed, "replayed frame");
      case SeqWindow::Verdict::kTooOld: return reject(FrameError::kTooOld, "frame older than the replay window");
      case SeqWindow::Verdict::kFresh: break;
    }
    const noise::Key& key = previous ? prev_key : recv_key;
    if (!noise::open(key, counter, frame.first(kLinkFrameHeaderBytes), frame.subspan(kLinkFrameHeaderBytes),
                     plaintext.data())) {
      return reject(FrameError::kAuthFailed, "frame authentication failed");
    }
    window.record(counter);
    return {};
  }
  noise::Key before = recv_key, key = recv_key;
  for (std::uint64_t e = recv_epoch; e < epoch; ++e) {
    before = key;
    noise::rekey(key);
  }
  const bool ok = noise::open(key, counter, frame.first(kLinkFrameHeaderBytes), frame.subspan(kLinkFrameHeaderBytes),
                              plaintext.data());
  if (!ok) {
    sodium_memzero(key.data(), key.size());
    sodium_memzero(before.data(), before.size());
    return reject(FrameError::kAuthFailed, "frame authentication failed");
  }
  prev_key = before;
  prev_window = epoch == recv_epoch + 1 ? recv_window : SeqWindow{};
  has_prev = true;
  recv_key = key;
  recv_epoch = epoch;
  recv_window = SeqWindow{};
  recv_window.record(counter);
  sodium_memzero(key.data(), key.size());
  sodium_memzero(before.data(), before.size());
  return {};
}

Status SecureLink::Impl::rekey() {
  if (state != LinkState::kEstablished) return failed_precondition("link not established");
  const std::uint64_t next = (send_epoch + 1) << limits.rekey_shift;
  if (next == 0 || (next >> limits.rekey_shift) != send_epoch + 1) {
    return resource_exhausted("send counter exhausted: open a new link");
  }
  send_counter = next;
  return {};
}

Status SecureLink::Impl::send(std::span<const std::uint8_t> plaintext) {
  if (state != LinkState::kEstablished) return failed_precondition("link not established");
  if (plaintext.size() > limits.plaintext_bytes_max) return invalid_argument("message above plaintext_bytes_max");
  if (transmit.size() >= limits.transmit_queue_max) return resource_exhausted("transmit queue full");
  if (send_counter == UINT64_MAX) return resource_exhausted("send counter exhausted: open a new link");
  while (send_epoch < epoch_of(send_counter)) {
    noise::rekey(send_key);
    send_epoch++;
  }
  Bytes frame(kLinkFrameHeaderBytes + plaintext.size() + kLinkTagBytes);
  frame[0] = kTransport;
  for (int i = 0; i < 8; ++i) frame[1 + i] = static_cast<std::uint8_t>(send_counter >> (8 * i));
  noise::seal(send_key, send_counter, std::span(frame).first(kLinkFrameHeaderBytes), plaintext,
              frame.data() + kLinkFrameHeaderBytes);
  send_counter++;
  counters.frames_sent++;
  counters.plaintext_bytes_sent += plaintext.size();
  transmit.push_back(std::move(frame));
  return {};
}

SecureLink::SecureLink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SecureLink::SecureLink(SecureLink&&) noexcept = default;
SecureLink& SecureLink::operator=(SecureLink&&) noexcept = default;
SecureLink::~SecureLink() = default;

SecureLink SecureLink::initiator(const Identity& identity, const Seed& ephemeral_seed,
                                 std::optional<PeerId> expected_peer, const LinkLimits& limits) {
  auto impl = std::make_unique<Impl>(true, identity, ephemeral_seed, std::move(expected_peer), limits);
  Bytes msg1;
  impl->hs.write_msg1(msg1);
  impl->queue_frame(kMsg1, msg1);
  return SecureLink(std::move(impl));
}

SecureLink SecureLink::responder(const Identity& identity, const Seed& ephemeral_seed,
                                 std::optional<PeerId> expected_peer, const LinkLimits& limits) {
  return SecureLink(std::make_unique<Impl>(false, identity, ephemeral_seed, std::move(expected_peer), limits));
}

Status SecureLink::handle(std::span<const std::uint8_t> frame) { return impl_->handle(frame); }
Status SecureLink::send(std::span<const std::uint8_t> plaintext) { return impl_->send(plaintext); }
Status SecureLink::rekey() { return impl_->rekey(); }
std::uint64_t SecureLink::send_epoch() const { return impl_->send_epoch; }

std::optional<Bytes> SecureLink::poll_transmit() {
  if (impl_->transmit.empty()) return std::nullopt;
  Bytes frame = std::move(impl_->transmit.front());
  impl_->transmit.pop_front();
  return frame;
}

std::optional<LinkEvent> SecureLink::poll_event() {
  if (impl_->events.empty()) return std::nullopt;
  LinkEvent event = std::move(impl_->events.front());
  impl_->events.pop_front();
  return event;
}

LinkState SecureLink::state() const { return impl_->state; }
bool SecureLink::is_initiator() const { return impl_->initiator; }
const std::optional<PeerId>& SecureLink::remote_peer() const { return impl_->remote; }
std::array<std::uint8_t, 32> SecureLink::handshake_hash() const { return impl_->hash; }
const LinkCounters& SecureLink::counters() const { return impl_->counters; }
FrameError SecureLink::last_error() const { return impl_->last_error; }

}  // namespace nitro::crypto
