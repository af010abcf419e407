// SecureLink: a mutually authenticated, encrypted link over any message pipe, as a sans-IO state
// machine. Bytes in (handle), bytes out (poll_transmit), events out (poll_event). No IO, no clock,
// no RNG: the ephemeral key comes from an injected 32-byte seed that must be fresh per link.
//
// Handshake: Noise_XX_25519_ChaChaPoly_SHA256 (noiseprotocol.org, rev 34) with prologue
// "nitro-link/1". The Noise static key is the node's Ed25519 identity converted to X25519
// (crypto_sign_ed25519_*_to_curve25519); each side's encrypted handshake payload is its Ed25519
// public key, accepted only if it converts to the static key the DH operations proved. So both
// static keys are proven by the es/se DH results and the peer learns a PeerId (Ed25519 key).
//   msg1  I->R  0x01 | e                                   33 bytes
//   msg2  R->I  0x02 | e | enc(s) | enc(ed25519 pk)        129 bytes
//   msg3  I->R  0x03 | enc(s) | enc(ed25519 pk)            97 bytes
// An initiator given `expected_peer` aborts after msg2 on a mismatch, before revealing its own
// static key. Any bad handshake frame fails the link: keys are wiped, one Failed event is
// emitted, nothing is sent back (a failed handshake leaks nothing), every later call is refused.
//
// Transport frame: 0x04 | counter u64 LE | ChaCha20-Poly1305-IETF(plaintext) with nonce =
// 4 zero bytes | counter LE and the 9 header bytes as associated data. Each direction has its own
// key (Noise Split) and counter starting at 0; a counter is never reused (send() refuses at 2^64-1).
// The receiver keeps a sliding window of kReplayWindow counters: replayed frames and frames older
// than the window are rejected. Once established, a bad frame is dropped and counted, and the
// link stays up (an injected frame cannot tear it down). On a reordering pipe, transport frames
// may overtake msg3: the responder keeps up to 8 of them (64 KiB in all; handle() returns OK) and
// authenticates them when msg3 arrives (rejections are counted then), or drops them if it fails.
//
// Rekeying (Noise REKEY: k' = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes)): the
// counter's high bits name a key epoch, epoch = counter >> rekey_shift. A sender moves to the next
// key after 2^rekey_shift messages (2^20 by default), or at once when its owner calls rekey() (the
// node does so on a timer, NodeTimers::link_rekey_ms); rekey() skips the counter to the next epoch
// boundary. A receiver derives forward keys only for a frame that then authenticates (at most
// kRekeySkipMax epochs ahead), and keeps the previous epoch's key and replay window, so frames that
// straddle a rekey on a lossy, reordering pipe are still accepted exactly once. Old keys are wiped.
//
// The pipe must preserve message boundaries (one handle() call per frame, as WebSocket, WebRTC
// data channels and the in-memory transport do); a stream transport adds its own length prefix.
//
// No timers: a link never times out by itself. Its owner abandons a handshake that has not
// established within its own deadline (e.g. handshake_timeout_ms on the node's clock).
//
// Polling rules: after constructing a link and after every handle()/send(), drain poll_transmit()
// and poll_event(). Both queues are bounded (LinkLimits); when full, handle()/send() return
// kResourceExhausted and change nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "nitro/identity.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::crypto {

inline constexpr std::size_t kLinkTagBytes = 16;
inline constexpr std::size_t kLinkFrameHeaderBytes = 9;  // type + counter
inline constexpr std::size_t kReplayWindow = 1024;       // counters tracked below the highest seen
inline constexpr std::uint64_t kRekeySkipMax = 8;        // epochs a receiver derives forward at most

struct LinkLimits {
  std::size_t plaintext_bytes_max = 1u << 20;  // one send() / one received message
  std::size_t transmit_queue_max = 1024;       // frames awaiting poll_transmit()
  std::size_t event_queue_max = 1024;          // events awaiting poll_event()
  unsigned rekey_shift = 20;                   // a new key every 2^rekey_shift messages (12..62)
};

// Why a frame was rejected. Each has a counter in LinkCounters and a Status code:
enum class FrameError : std::uint8_t {
  kNone = 0,
  kMalformed,      // wrong type byte or length            -> kDecodeError
  kOversize,       // above the limit, before any copy      -> kDecodeError
  kUnexpected,     // valid type at the wrong time          -> kFailedPrecondition
  kAuthFailed,     // AEAD tag or key proof failed          -> kUnauthenticated
  kReplayed,       // counter already accepted              -> kAlreadyExists
  kTooOld,         // counter below the replay window       -> kOutOfRange
  kPeerMismatch,   // authenticated, but not expected_peer  -> kPermissionDenied
  kClosed,         // link already failed                   -> kFailedPrecondition
  kBackpressure,   // an output queue is full               -> kResourceExhausted
};
inline constexpr std::size_t kFrameErrorCount = 10;
const char* frame_error_name(FrameError e);

struct LinkCounters {
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;   // accepted frames (handshake + transport)
  std::uint64_t plaintext_bytes_sent = 0;
  std::uint64_t plaintext_bytes_received = 0;
  std::array<std::uint64_t, kFrameErrorCount> rejected{};  // indexed by FrameError
  std::uint64_t rejected_of(FrameError e) const { return rejected[static_cast<std::size_t>(e)]; }
  std::uint64_t rejected_total() const;
};

struct LinkEvent {
  enum class Kind : std::uint8_t { kEstablished, kFailed, kMessage };
  Kind kind = Kind::kMessage;
  PeerId peer;      // kEstablished: the authenticated remote
  Status status;    // kFailed: why
  Bytes message;    // kMessage: decrypted plaintext
};

enum class LinkState : std::uint8_t { kHandshaking, kEstablished, kFailed };

class SecureLink {
 public:
  // The initiator queues msg1 at once (poll_transmit). `ephemeral_seed` must be fresh randomness.
  static SecureLink initiator(const Identity& identity, const Seed& ephemeral_seed,
                              std::optional<PeerId> expected_peer = std::nullopt, const LinkLimits& limits = {});
  static SecureLink responder(const Identity& identity, const Seed& ephemeral_seed,
                              std::optional<PeerId> expected_peer = std::nullopt, const LinkLimits& limits = {});

  // One received frame. OK when accepted; else the typed rejection (also in last_error()).
  Status handle(std::span<const std::uint8_t> frame);
  std::optional<Bytes> poll_transmit();
  std::optional<LinkEvent> poll_event();
  // Encrypts one message; kFailedPrecondition before establishment or after failure.
  Status send(std::span<const std::uint8_t> plaintext);
  // Moves the sending direction to a fresh key now (time-based rekeying); the peer follows from
  // the counter. kFailedPrecondition unless established.
  Status rekey();

  LinkState state() const;
  bool established() const { return state() == LinkState::kEstablished; }
  bool is_initiator() const;
  const std::optional<PeerId>& remote_peer() const;  // set once established
  // Noise handshake hash h: identical on both ends once established (channel binding).
  std::array<std::uint8_t, 32> handshake_hash() const;
  const LinkCounters& counters() const;
  std::uint64_t send_epoch() const;  // keys used so far in the sending direction, minus one
  FrameError last_error() const;

  SecureLink(SecureLink&&) noexcept;
  SecureLink& operator=(SecureLink&&) noexcept;
  ~SecureLink();

 private:
  struct Impl;
  explicit SecureLink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nitro::crypto
