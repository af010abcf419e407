// Batch formats of the RPC composition. Both are total and bounded: malformed bytes give
// kDecodeError and a malformed batch is refused whole, before anything in it takes effect.
//
// 1. Link messages on the node channel "rpc" (peer to peer, inside the secure link). The frames a
//    node has for one peer after one step travel as ONE link message, so a burst costs one seal and
//    one socket write:
//      [0x00] ([varint length][frame])...   RPC frames (nitro/rpc.h), length unsigned LEB128
//      [0x01] [advertisement]               a direct advertisement to a linked peer
//    A frames message holds at most kLinkBytesMax bytes; a frame larger than that travels alone.
//
// 2. The host batches of a JS host (wasm boundary, little endian). The host writes step input;
//    the core answers with a drain batch. Both cross as one memcpy instead of per-value marshalling.
//    Step input, one record after another:
//      u8 1, str peer, bin link message                 what a peer sent (bare-engine hosts only)
//      u8 2, f64 call, str code, str message, bin payload, str trailer (packed), bin details
//                                                       a handler's respond()
//      u8 3, f64 reserved handle, str peer, str service, str method, str metadata (packed),
//            bin payload, u8 content (1 = json), u8 kind, f64 timeout_ms, f64 attempt_timeout_ms,
//            u8 idempotent, u32 retries, u8 strategy, str hash key      a call start
//      u8 4, f64 call                                   a cancel (no-op once ended)
//    Drain output: f64 next deadline (-1: none), then records:
//      u8 1, str peer, bin link message                 to send to a peer (bare-engine hosts only;
//                                                       the frames of one drain, coalesced)
//      u8 2, u8 kind, f64 handle, u8 stream kind, str peer, then by kind:
//        request:   str service, str method, md, bin payload, u8 content, f64 deadline (-1 none)
//        message:   bin payload, md header (response headers: the call's first event only)
//        done:      str code, str message, bin payload, md, bin details (msgpack), u32 attempts,
//                   md header
//        cancelled: str code, str message
//    str/bin = u32 length + bytes; md = u32 count + (str key, str value) pairs; packed metadata is
//    "k\0v\0k\0v" (keys and values without NUL).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "nitro/rpc.h"

namespace nitro::rpc {

inline constexpr std::uint8_t kLinkFrames = 0;
inline constexpr std::uint8_t kLinkAdvertisement = 1;
inline constexpr std::size_t kLinkBytesMax = 256 * 1024;
inline constexpr std::size_t kLinkFramesMax = 4096;  // frames in one link message

// Collects frames per peer; take() hands out one or more link messages per peer, in peer order.
class LinkBatcher {
 public:
  void push(const PeerKey& peer, std::span<const std::uint8_t> frame);
  bool empty() const { return pending_.empty(); }
  // Every pending message, ordered by peer (messages of one peer in push order).
  std::vector<std::pair<PeerKey, Bytes>> take();

 private:
  std::map<PeerKey, std::vector<Bytes>> pending_;
};

Bytes link_advertisement(const Advertisement& ad);

// A decoded link message: frames (views into the message) or an advertisement.
struct LinkMessage {
  std::uint8_t kind = kLinkFrames;
  std::vector<std::span<const std::uint8_t>> frames;
  Advertisement advertisement;
};
Result<LinkMessage> decode_link_message(std::span<const std::uint8_t> bytes, const FrameLimits& limits = {});

// A link message from `from` into a bare engine (hosts without a node): frames to the engine, an
// advertisement for `from` itself to the registry. Malformed messages are dropped whole.
void receive_link_message(Engine& engine, const PeerKey& from, std::span<const std::uint8_t> bytes, std::int64_t now_ms);

// Packed metadata ("k\0v\0k\0v").
Result<Metadata> unpack_metadata(std::string_view packed);

// Applies a host's step input to `engine`. Records before a malformed one take effect; the
// malformed one and the rest are refused (kDecodeError). The hooks let a composition take call
// starts and cancels itself (discovery wait); without them they go straight to the engine.
struct StepHooks {
  std::function<void(CallHandle, CallOptions)> start;
  std::function<void(CallHandle)> cancel;
};
Status apply_step(Engine& engine, std::span<const std::uint8_t> input, std::int64_t now_ms,
                  const StepHooks& hooks = {});

// Appends the drain batch: the deadline, then (if `with_transmits`) every transmit coalesced into
// link messages, then every event.
void write_drain(Engine& engine, std::optional<std::int64_t> deadline, bool with_transmits, Bytes& out);

// Reads a drain batch back (tests, fuzzing, C++ hosts of the JS format). kDecodeError if malformed.
struct DrainBatch {
  double deadline = -1;
  std::vector<Transmit> transmits;  // link messages
  std::vector<Event> events;
};
Result<DrainBatch> read_drain(std::span<const std::uint8_t> bytes);

}  // namespace nitro::rpc
