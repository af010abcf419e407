#include "nitro/assert.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace nitro::detail {

// No printf: it would keep the whole formatter (floating point included) in nitro.wasm.
void assert_failed(const char* expr, const char* file, int line) {
  const std::string message = std::string("nitro: assertion failed: ") + expr + " (" + file + ":" +
                              std::to_string(line) + ")\n";
  std::fputs(message.c_str(), stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace nitro::detail
