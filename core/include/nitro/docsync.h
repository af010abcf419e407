// crdt::DocSync — replicated CRDT documents composed in the core: one nitro::Protocol per node, on
// channel "doc.sync", carrying every document the node has open.
//
// Why one protocol for all documents: channel names are at most 32 bytes while document names go
// to 200, and one protocol keeps one message decoder, one reassembly state per peer and one timer.
//
// Contract (sans-IO, deterministic; see nitro/node.h for the seam):
//   * Gossip: a local update the host reports (local_update) is written ahead through the durable
//     seam when the document persists, then published on topic "doc/<name>" as a msgpack bin. A
//     received one is applied and never re-published. Updates larger than one gossip payload go to
//     every linked peer over the channel instead, in parts.
//   * Anti-entropy: when a document opens, when a peer link comes up (at most once per peer and
//     document per peer_sync_min_ms), and every anti_entropy_ms (jittered x0.5..1.5 from the node's
//     entropy) with at most anti_entropy_peers random peers, a node sends its state vector asking
//     for the other's; the other answers with the delta the first lacks (filtered to the asker's
//     writers when it is writer-restricted) and its own vector, which the first answers likewise.
//   * A remote update the document refuses leaves it unchanged and is reported as a "rejected"
//     event; malformed channel messages are counted and dropped.
//   * Persistence (documents opened with persist): every local update is stored before the
//     message carrying it leaves, every applied remote update after it applied; after
//     compact_every logged updates, one snapshot replaces the log (snapshot written first, then the
//     log keys deleted, so a crash in between only leaves duplicates, which are idempotent).
//     Keys, relative to the channel: "<hex name>/s" (snapshot), "<hex name>/u/<16 hex seq>" (log).
//
// Host events (kProtocol on the channel, msgpack maps):
//   {type:"applied", doc, via:"gossip"|"sync", from, update}   a remote update changed the document
//   {type:"rejected", doc, via:"gossip"|"sync"|"store", from, code, message, bytes}
//   {type:"synced", doc, from}   once per open: a peer answered our vector (its delta came first)
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "nitro/crdt.h"
#include "nitro/node.h"

namespace nitro::crdt {

struct DocSyncConfig {
  std::uint64_t peer_sync_min_ms = 1000;  // link-triggered exchanges per peer and document
  bool emit_applied = true;               // "applied" events carry each remote update to the host
};

// Per document, given when it opens.
struct SyncOptions {
  bool persist = false;                   // write its updates through the durable seam
  std::uint64_t anti_entropy_ms = 3000;   // mean interval of the periodic vector exchange
  std::size_t anti_entropy_peers = 2;     // peers asked per round
  std::size_t compact_every = 64;         // logged updates before a snapshot replaces them
  // The token (its id, 64 hex digits; nitro/auth.h) this node writes the document with: every
  // update it sends names it and receivers authorize doc.write with exactly that token. Empty:
  // receivers use every live token this node presented on the link.
  std::string token;
};

struct DocSyncStats {
  std::uint64_t published = 0, sent_direct = 0, publish_failed = 0, vectors_sent = 0, deltas_sent = 0;
  std::uint64_t applied = 0, rejected = 0, malformed = 0, send_failed = 0, busy = 0;
  std::uint64_t stored = 0, compactions = 0;
};

// ---- the channel's messages (msgpack maps; key order fixed as listed) --------------------------
//   vector:  {k:"sv", d: name, v: state vector, a: ask back, [w: [writer public keys]], [x: delete-set digest]}
//   update:  {k:"up", d: name, u: update, [t: token id hex]}
//   part:    {k:"part", d: name, id, i, n, b, [t: token id hex]}   part i of n of one update, in order on one link
// Gossip payload on "doc/<name>": the update as a bin, or [update bin, token id hex] when the
// writer names its token.
struct SyncMessage {
  enum class Kind : std::uint8_t { kVector, kUpdate, kPart };
  Kind kind = Kind::kVector;
  std::string doc;
  Bytes bytes;                           // kVector: the vector; kUpdate: the update; kPart: the part
  bool ask_back = false;                 // kVector
  std::vector<Bytes> writers;            // kVector: the asker's writer restriction (empty: none)
  Bytes deletes;                         // kVector: digest of the sender's delete set (empty: none)
  std::uint64_t part_id = 0;             // kPart
  std::uint32_t part_index = 0, part_count = 0;
  std::string token;                     // kUpdate, kPart: the sender's token reference (empty: none)
};

constexpr std::size_t kDocNameBytesMax = 200;     // "doc/<name>" stays under the 256-byte topic limit
constexpr std::size_t kGossipBytesMax = 500 * 1024;  // under the node's 512 KiB payload limit
constexpr std::size_t kPartBytes = 448 * 1024;
constexpr std::size_t kPartsMax = 80;             // 35 MiB: above a Doc's 32 MiB update limit
constexpr std::size_t kWritersMax = 256;
constexpr std::size_t kDeletesDigestBytes = 16;
constexpr std::size_t kDocsMax = 1024;

Bytes encode_sync_message(const SyncMessage& m);
// Total and bounded: malformed bytes are kDecodeError, never a crash.
Result<SyncMessage> decode_sync_message(std::span<const std::uint8_t> bytes);

std::string doc_topic(const std::string& name);  // "doc/" + name

struct GossipUpdate {
  Bytes update;
  std::string token;  // empty: none
};
Bytes encode_gossip_update(std::span<const std::uint8_t> update, const std::string& token);
Result<GossipUpdate> decode_gossip_update(std::span<const std::uint8_t> payload);  // total

class DocSync final : public Protocol {
 public:
  static constexpr const char* kChannel = "doc.sync";

  // kInvalidArgument (field named) for a config that cannot work.
  static Result<std::unique_ptr<DocSync>> create(DocSyncConfig config = {});
  static Status check(const SyncOptions& options);

  // Starts replicating `doc` as `name`. The Doc is borrowed: it must outlive close(name) (or the
  // protocol). With options.persist, the document's records are read from `stored` (what the host loaded
  // for it, keys as above) and from the node's restored records, applied, and every update from
  // now on is written through the durable seam. Call inside a node call (the host pumps after).
  // kInvalidArgument (field named) for options that cannot work.
  Status open(const std::string& name, Doc& doc, const SyncOptions& options, const StoredRecords& stored = {});
  // The host reports a local commit of document `name` (bytes as the Doc's update handler gave).
  Status local_update(const std::string& name, std::span<const std::uint8_t> update);
  Status sync_now(const std::string& name);  // a vector exchange with every linked peer
  void close(const std::string& name);
  const DocSyncStats* stats(const std::string& name) const;

  // Protocol
  void attach(ProtocolContext& ctx) override;
  void on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) override;
  void on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                    std::span<const std::uint8_t> payload, std::uint64_t now_ms) override;
  void on_peer_up(const PeerId& peer, std::uint64_t now_ms) override;
  void on_peer_down(const PeerId& peer, std::uint64_t now_ms) override;
  void tick(std::uint64_t now_ms) override;
  std::optional<std::uint64_t> next_deadline() const override;

 private:
  struct Replica {
    Doc* doc = nullptr;
    SyncOptions options;
    std::string key_prefix;              // "<hex name>/"
    std::uint64_t next_seq = 1;          // next log key
    std::set<std::uint64_t> logged;      // log keys written since the last snapshot
    std::uint64_t next_round_ms = 0;
    std::map<PeerId, std::uint64_t> last_peer_sync;
    DocSyncStats stats;
    bool synced = false;                 // caught up with a peer at least once
  };
  struct Reassembly {
    std::string doc;
    std::uint64_t id = 0;
    std::uint32_t count = 0;
    Bytes bytes;
    std::uint32_t received = 0;
    std::string token;
  };
  enum class Via : std::uint8_t { kGossip, kSync, kStore };

  explicit DocSync(DocSyncConfig config) : config_(config) {}
  void load(const std::string& name, Replica& r, const StoredRecords& stored);
  void apply(const std::string& name, Replica& r, std::span<const std::uint8_t> update, Via via, const PeerId* from,
             const std::string& token = {});
  void persist(Replica& r, std::span<const std::uint8_t> update);
  void compact(Replica& r);
  void on_vector(const std::string& name, Replica& r, const PeerId& from, const SyncMessage& m);
  bool on_part(const PeerId& from, SyncMessage& m);
  void send_vector(const std::string& name, Replica& r, const PeerId& peer, bool ask_back);
  static Bytes deletes_digest(Replica& r);
  void send(Replica& r, const PeerId& peer, const SyncMessage& m);
  void send_update(const std::string& name, Replica& r, const PeerId& peer, std::span<const std::uint8_t> update);
  void round(const std::string& name, Replica& r);
  void schedule(Replica& r, std::uint64_t now_ms);
  std::vector<PeerId> candidates() const;
  void emit_rejected(const std::string& name, Via via, const PeerId* from, const Status& s, std::size_t bytes);

  DocSyncConfig config_;
  ProtocolContext* ctx_ = nullptr;
  std::map<std::string, Replica> docs_;
  std::map<PeerId, Reassembly> reassembly_;
  std::uint64_t next_part_id_ = 1;
};

}  // namespace nitro::crdt
