// NITRO_ASSERT: an always-compiled invariant check (TigerBeetle style). Assertions catch
// programmer errors, never bad input: bad input is a Status. A failed assertion prints where and
// what, then aborts, in every build (Release included), the simulator and the fuzzers alike.
// NITRO_ASSERT_SLOW is for checks too costly for production hot paths: compiled in unless
// NITRO_ASSERT_SLOW_OFF is defined (release builds of the package may define it).
#pragma once

namespace nitro::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);
}  // namespace nitro::detail

#define NITRO_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::nitro::detail::assert_failed(#cond, __FILE__, __LINE__))

#if defined(NITRO_ASSERT_SLOW_OFF)
#define NITRO_ASSERT_SLOW(cond) static_cast<void>(0)
#else
#define NITRO_ASSERT_SLOW(cond) NITRO_ASSERT(cond)
#endif
