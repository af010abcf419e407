// Embind glue for passphrase-sealed identity exports (argon2id + XChaCha20-Poly1305). Apart from
// crypto.cpp so that the wasm build can leave this cold code, and argon2 with it, in the lazily
// loaded module (cmake/wasm.cmake): pages that never seal an identity do not download it.
#include "convert.h"
#include "nitro/identity.h"

namespace nitro::bind {
namespace {

using crypto::Identity;

val identity_import_sealed(const val& sealed, const std::string& passphrase) {
  auto id = Identity::import_sealed(bytes_from_js(sealed), passphrase);
  if (!id.ok()) return error_to_js(id.status());
  return val(std::move(*id));
}

val identity_export_sealed(const Identity& id, const std::string& passphrase, const val& entropy, double ops,
                           double mem_kib) {
  crypto::Seed s{};
  if (!bytes_into(entropy, s)) return error_to_js(invalid_argument("seed must be 32 bytes"));
  auto o = safe_u64(ops), m = safe_u64(mem_kib);
  if (!o || !m || *o > UINT32_MAX || *m > UINT32_MAX) return error_to_js(invalid_argument("bad pwhash parameters"));
  auto sealed = id.export_sealed(passphrase, s, {static_cast<std::uint32_t>(*o), static_cast<std::uint32_t>(*m)});
  if (!sealed.ok()) return error_to_js(sealed.status());
  return bytes_to_js(*sealed);
}

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_sealed) {
  using namespace emscripten;
  using namespace nitro::bind;
  function("identityImportSealed", &identity_import_sealed);
  function("identityExportSealed", &identity_export_sealed);
}
