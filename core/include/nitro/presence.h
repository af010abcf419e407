// Presence (awareness): ephemeral per-peer state for a document — a cursor, a name, a colour —
// composed in the core as one nitro::Protocol on channel "presence", carrying every document the
// node shows presence for. Nothing is persisted.
//
// Contract (sans-IO, deterministic; see nitro/node.h for the seam):
//   * Each node has at most one state per document (msgpack bytes chosen by the app, or none). It
//     is published on topic "presence/<doc>" as {d: doc, q: session, c: clock, s: state | nil}
//     when set, every renew_ms while set, and (rate-limited to one per announce_min_ms) when a peer
//     not seen before shows up, so a newcomer learns the others within one round trip.
//   * The gossip origin signs each message, so a peer can only speak for itself. A message replaces
//     the held entry when its clock is higher or its session differs (a restarted peer starts a new
//     session at clock 1; a delayed message of its old session is corrected by the next renewal).
//   * An entry not renewed for timeout_ms is dropped (a crashed or partitioned peer). close(doc)
//     and a state of none publish a removal. Every change is a "change" event for the host:
//       {type:"change", doc, added:[peer ids], updated:[...], removed:[...]}
//   * Bounds: kDocsMax documents, kPeersMax entries per document, kStateBytesMax per state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nitro/node.h"

namespace nitro {

struct PresenceConfig {
  std::uint64_t renew_ms = 10000;        // re-publish the local state this often
  std::uint64_t timeout_ms = 30000;      // drop a remote state not renewed for this long
  std::uint64_t announce_min_ms = 1000;  // re-publish on a newcomer at most this often
};

struct PresenceEntry {
  std::uint64_t session = 0;
  std::uint64_t clock = 0;
  Bytes state;
  std::uint64_t seen_ms = 0;
};

struct PresenceMessage {
  std::string doc;
  std::uint64_t session = 0;
  std::uint64_t clock = 0;
  std::optional<Bytes> state;  // none: the peer removed its state
};

Bytes encode_presence_message(const PresenceMessage& m);
// Total and bounded: malformed bytes are kDecodeError, never a crash.
Result<PresenceMessage> decode_presence_message(std::span<const std::uint8_t> bytes);

class Presence final : public Protocol {
 public:
  static constexpr const char* kChannel = "presence";
  static constexpr std::size_t kDocsMax = 1024;
  static constexpr std::size_t kPeersMax = 4096;
  static constexpr std::uint64_t kGoneRememberFactor = 10;  // a departed peer is remembered 10 timeouts
  static constexpr std::size_t kStateBytesMax = 16 * 1024;
  static constexpr std::size_t kDocNameBytesMax = 200;

  // kInvalidArgument (field named) for a config that cannot work.
  static Result<std::unique_ptr<Presence>> create(PresenceConfig config = {});

  Status open(const std::string& doc);  // starts listening; idempotent
  // Sets (bytes) or removes (nullopt) this node's state and publishes it. Opens the doc if needed.
  Status set_local(const std::string& doc, std::optional<Bytes> state);
  void close(const std::string& doc);   // publishes a removal if a state was set, stops listening
  // Every known state of the document, this node's own included (absent when not open).
  const std::map<PeerId, PresenceEntry>* states(const std::string& doc) const;

  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                    std::span<const std::uint8_t> payload, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;

 private:
  struct Room {
    std::map<PeerId, PresenceEntry> entries;  // remote peers, and this node's own under its id
    // Expired or removed peers (seen_ms = when): a late copy of one of their older messages (a
    // gossip repair, a partition's backlog) must not bring the state back for another timeout.
    std::map<PeerId, PresenceEntry> gone;
    bool has_local = false;
    std::uint64_t next_renew_ms = 0;
    std::uint64_t last_announce_ms = 0;
  };
  struct Diff {
    std::vector<PeerId> added, updated, removed;
  };

  explicit Presence(PresenceConfig config) : config_(config) {}
  void publish(const std::string& doc, Room& room, std::uint64_t now_ms);
  void expire(const std::string& doc, Room& room, std::uint64_t now_ms);
  void forget(Room& room, const PeerId& peer, const PresenceEntry& last, std::uint64_t now_ms);
  void emit_change(const std::string& doc, const Diff& diff);

  PresenceConfig config_;
  ProtocolContext* ctx_ = nullptr;
  std::map<std::string, Room> rooms_;
  std::uint64_t session_ = 0;  // this run's session: random, so a restart is told apart
  std::uint64_t clock_ = 0;    // one clock over every document
};

}  // namespace nitro
