// libsodium setup shared by the crypto module. Natively, sodium_init() picks the fastest
// primitive implementations for this CPU. In wasm it is skipped: its randombytes stir calls into
// JS looking for an RNG, and the core never draws randomness anyway; every primitive we use works
// (reference implementations) without it.
#pragma once

namespace nitro::crypto::detail {

// Idempotent and cheap after the first call.
void ensure_sodium();

}  // namespace nitro::crypto::detail
