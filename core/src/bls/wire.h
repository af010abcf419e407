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
  kDkgDeal = 1,           // [1, [commitment...]]                to all
  kDkgShare = 2,          // [2, share(32)]                      to one peer, encrypted link
  kDkgComplaint = 3,      // [3, dealer]                         to all
  kDkgJustification = 4,  // [4, complainer, share(32)]          to all
  kDkgEcho = 5,           // [5, [[dealer, digest(32)...]...]]   to all; 1 or 2 digests a dealer
  kPartial = 10,          // [10, round, sig]                    to all
  kSyncRequest = 11,      // [11, first_round, last_round]       to one peer
  kSyncResponse = 12,     // [12, [[round, sig(, prev)]...]]     to one peer; prev: chained only
};

inline constexpr std::size_t kFrameBytesMax = 256 * 1024;
inline constexpr std::size_t kSyncEntriesMax = 256;

struct DkgDeal { std::vector<Bytes> commitments; };
struct DkgShare { Bytes share; };
struct DkgComplaint { threshold::Index dealer = 0; };
struct DkgJustification { threshold::Index complainer = 0; Bytes share; };
// The digests (sha256 of the commitments) of the deals a member received from each dealer: one,
// or two when the dealer equivocated. Dealers strictly ascending.
struct EchoEntry {
  threshold::Index dealer = 0;
  std::vector<Bytes> digests;
};
struct DkgEcho { std::vector<EchoEntry> entries; };
inline constexpr std::size_t kEchoDigestsMax = 2;
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
    std::variant<DkgDeal, DkgShare, DkgComplaint, DkgJustification, DkgEcho, Partial, SyncRequest, SyncResponse>;

Bytes encode(const Message& msg);
Result<Message> decode(ByteSpan bytes);

}  // namespace nitro::bls::wire
