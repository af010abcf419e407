#include "crypto/sodium_init.h"

#include <sodium.h>

namespace nitro::crypto::detail {

void ensure_sodium() {
#ifndef __EMSCRIPTEN__
  static const int initialized = sodium_init();
  (void)initialized;  // 0 or 1 (already initialized); -1 only if the platform is unusable
#endif
}

}  // namespace nitro::crypto::detail
