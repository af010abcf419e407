// Signed envelopes: a message signed by its origin, so any receiver can verify it no matter how
// many relays carried it, and a ReplayGuard that accepts each (origin, seq) at most once.
//
// Contract: deterministic and sans-IO; no clock (now_ms is an argument), no RNG (Ed25519
// signatures are deterministic). decode() is total and bounded: lengths are checked against
// EnvelopeLimits before anything is allocated, trailing bytes are an error, and only the canonical
// encoding is accepted, so encode(decode(b)) == b.
//
// Wire form (integers big-endian):
//   0x4E 0x01 | origin[32] | seq u64 | timestamp_ms u64 | topic_len u16 | topic (UTF-8)
//             | payload_len u32 | payload | signature[64]
// The signature is Ed25519 by `origin` over "nitro-envelope/1\0" followed by every byte before it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "nitro/identity.h"
#include "nitro/seq_window.h"
#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::crypto {

inline constexpr std::size_t kEnvelopeOverheadBytes = 2 + 32 + 8 + 8 + 2 + 4 + 64;  // 120

struct EnvelopeLimits {
  std::size_t topic_bytes_max = 256;
  std::size_t payload_bytes_max = 1u << 20;
};
static_assert(EnvelopeLimits{}.topic_bytes_max <= 0xFFFF);

struct Envelope {
  PeerId origin;
  std::uint64_t seq = 0;
  std::uint64_t timestamp_ms = 0;
  std::string topic;  // the kind / gossip topic; valid UTF-8
  Bytes payload;
  Signature signature{};

  // Builds and signs. kInvalidArgument if topic/payload exceed limits or topic is not UTF-8.
  static Result<Envelope> sign(const Identity& origin, std::uint64_t seq, std::uint64_t timestamp_ms,
                               std::string topic, Bytes payload, const EnvelopeLimits& limits = {});
  Bytes encode() const;
  // Structure only (kDecodeError on anything malformed or oversize); call verify() next.
  static Result<Envelope> decode(std::span<const std::uint8_t> bytes, const EnvelopeLimits& limits = {});
  // decode() then verify(): what a receiver of untrusted bytes calls.
  static Result<Envelope> open(std::span<const std::uint8_t> bytes, const EnvelopeLimits& limits = {});
  // OK, or kUnauthenticated if the signature does not verify against `origin`.
  Status verify() const;
  // The exact bytes covered by the signature (domain tag + header + topic + payload).
  Bytes signed_bytes() const;
  // SHA-256 of encode(): a stable message id for deduplication and gossip digests.
  std::array<std::uint8_t, 32> digest() const;

  bool operator==(const Envelope&) const = default;
};

// Replay protection by (origin, seq). Per origin: the highest seq accepted and a bitmap of the
// kEnvelopeReplayWindow seqs below it. At most `origins_max` origins are tracked; when a new origin
// arrives at capacity, the least recently accepted origin is evicted (its replays within
// `max_age_ms` become possible again, so size origins_max above the expected active origin count).
// Freshness: envelopes with timestamp_ms older than now_ms - max_age_ms or newer than
// now_ms + future_skew_ms are rejected, which bounds how old a replay can be.
inline constexpr std::uint64_t kEnvelopeReplayWindow = SeqWindow::kBits;

struct ReplayGuardLimits {
  std::size_t origins_max = 4096;
  std::uint64_t max_age_ms = 10u * 60u * 1000u;
  std::uint64_t future_skew_ms = 60u * 1000u;
};

class ReplayGuard {
 public:
  explicit ReplayGuard(const ReplayGuardLimits& limits = {});

  // Checks without recording: OK if fresh and not yet seen; kAlreadyExists for a replay,
  // kOutOfRange for a seq below the window (or UINT64_MAX) or a stale/future timestamp.
  Status check(const PeerId& origin, std::uint64_t seq, std::uint64_t timestamp_ms, std::uint64_t now_ms) const;
  // check() and, when OK, records (origin, seq). Call only after Envelope::verify() succeeded.
  Status accept(const PeerId& origin, std::uint64_t seq, std::uint64_t timestamp_ms, std::uint64_t now_ms);
  Status accept(const Envelope& envelope, std::uint64_t now_ms) {
    return accept(envelope.origin, envelope.seq, envelope.timestamp_ms, now_ms);
  }

  std::size_t origins() const { return by_origin_.size(); }
  std::uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    SeqWindow window;
    std::uint64_t last_used = 0;  // accept() tick, for LRU eviction
  };
  Status check_freshness(std::uint64_t timestamp_ms, std::uint64_t now_ms) const;
  void evict_one();

  ReplayGuardLimits limits_;
  std::map<PeerId, Entry> by_origin_;
  std::map<std::uint64_t, PeerId> by_last_used_;  // tick -> origin, oldest first
  std::uint64_t tick_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace nitro::crypto
