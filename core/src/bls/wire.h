// Internal: msgpack frames of the DKG and beacon engines. A frame is an array whose first item
// is the message kind. Decoding is total and bounded (codec limits sized for these messages).
#pragma once

#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "nitro/bls.h"
#include "nitro/bls_threshold.h"

namespace nitro::bls::wire {

enum Kind : std::int64_t {
  kDkgDeal = 1,           // [1, [commitment...], sig(64)]       to all; signed by the dealer
  kDkgShare = 2,          // [2, share(32)]                      to one peer, encrypted link
  kDkgComplaint = 3,      // [3, complainer, dealer, sig, chain]          to all; signed by the complainer
  kDkgJustification = 4,  // [4, dealer, complainer, share(32), chain]    to all
  kDkgForward = 5,        // [5, dealer, [commitment...], sig, chain]     to all; a dealer's signed deal
  kPartial = 10,          // [10, round, sig]                    to all
  kSyncRequest = 11,      // [11, first_round, last_round]       to one peer
  kSyncResponse = 12,     // [12, [[round, sig(, prev)]...]]     to one peer; prev: chained only
};

inline constexpr std::size_t kFrameBytesMax = 256 * 1024;
inline constexpr std::size_t kSyncEntriesMax = 256;

struct DkgDeal {
  std::vector<Bytes> commitments;
  Bytes sig;  // the dealer's signature over dkg_deal_message(session, dealer, digest)
};
struct DkgShare { Bytes share; };
// One relayer's signature over dkg_relay_message(session, digest of the item without its chain).
// chain: [[index, sig(64)]...], every member that relayed the item so far, in order.
struct RelaySig {
  threshold::Index signer = 0;
  Bytes sig;
};
using Chain = std::vector<RelaySig>;
struct DkgComplaint {
  threshold::Index complainer = 0, dealer = 0;
  Bytes sig;  // the complainer's signature over dkg_complaint_message(session, complainer, dealer)
  Chain chain;
};
struct DkgJustification {
  threshold::Index dealer = 0, complainer = 0;
  Bytes share;  // the dealer's share for the complainer, checked against the dealer's commitments
  Chain chain;
};
// A dealer's signed deal relayed by another member: how a deal that reached only some members
// reaches all, and the proof that convicts a dealer who signed two different deals.
struct DkgForward {
  threshold::Index dealer = 0;
  DkgDeal deal;
  Chain chain;
};
inline constexpr std::size_t kDealSigBytesMax = 64;
struct Partial { std::uint64_t round = 0; Bytes sig; };
struct SyncRequest { std::uint64_t first = 0, last = 0; };
// A recovered round; `prev` (chained schemes) is the previous round's signature, which makes the
// entry verifiable on its own: the group signs only over the true previous signature.
struct SyncEntry {
  std::uint64_t round = 0;
  Bytes sig;
  Bytes prev;
};
struct SyncResponse { std::vector<SyncEntry> rounds; };
using Message =
    std::variant<DkgDeal, DkgShare, DkgComplaint, DkgJustification, DkgForward, Partial, SyncRequest, SyncResponse>;

Bytes encode(const Message& msg);
Result<Message> decode(ByteSpan bytes);

}  // namespace nitro::bls::wire
