#include "nitro/assert.h"

#include <cstdio>
#include <cstdlib>

namespace nitro::detail {

void assert_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "nitro: assertion failed: %s (%s:%d)\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace nitro::detail
