// State proofs (inclusion and non-inclusion) against a state root; see proof.cpp for the format.
#pragma once

#include "consensus/state.h"
#include "nitro/consensus.h"

namespace nitro::consensus {

// `revision`: the executor's, which the state root commits to with the tree.
Value state_proof(const KvStore& store, std::uint64_t revision, const std::string& key);
// kDecodeError for a malformed proof, kUnauthenticated when it does not lead to `root`.
Result<StateRead> verify_state_proof(const Value& proof, const std::string& key, const Hash& root);

}  // namespace nitro::consensus
