// The validator set as the chain's state holds it, and the built-in "validators" module through
// which the set governs itself (see nitro/consensus.h, "Validator set changes").
#pragma once

#include <string>
#include <vector>

#include "consensus/state.h"
#include "nitro/consensus.h"

namespace nitro::consensus {

// Reserved (NUL-prefixed) keys: user ops cannot write them, the state root covers them, and a
// snapshot or a replay carries them like any other entry.
inline const std::string kValidatorSetKey = std::string("\0validators/set", 15);
inline const std::string kValidatorVotesPrefix = std::string("\0validators/votes/", 18);
inline constexpr std::size_t kValidatorsMin = 4;             // f = 0 below this: nobody tolerated
// Pending changes a member may have voted for: one Byzantine member cannot crowd out the others.
inline constexpr std::size_t kVotesPerMemberMax = 8;
inline constexpr std::size_t kChangesPendingMax = kValidatorsMax * kVotesPerMemberMax;

struct ValidatorSet {
  std::uint64_t epoch = 0;
  std::uint64_t root_height = 0;   // the block whose execution made this set (0: genesis)
  std::vector<Validator> members;  // by id
  Hash hash() const;               // over the members: names the set in the signing domain
  std::size_t quorum() const { return members.size() - (members.size() - 1) / 3; }
};

Value set_value(const ValidatorSet& s);
Result<ValidatorSet> set_from(const Value& v);
// The set the committed state holds: `genesis` until a change applied.
Result<ValidatorSet> set_in_state(const chain::KvEntry* entry, const ValidatorSet& genesis);

// validators.add {id, blsPublicKey, blsPop} and validators.remove {id}: each submission is one
// current member's vote for the change; the 2f+1-th distinct vote applies it (epoch + 1).
std::shared_ptr<chain::BuiltinModule> make_validators_module(ValidatorSet genesis);

}  // namespace nitro::consensus
