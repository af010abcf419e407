// Helpers shared by the auth module's sources.
#pragma once

#include "nitro/status.h"

// Assigns the value of a Result expression to `lhs`, or returns its error Status.
#define AUTH_CAT2(a, b) a##b
#define AUTH_CAT(a, b) AUTH_CAT2(a, b)
#define AUTH_ASSIGN(lhs, expr) AUTH_ASSIGN_IMPL(lhs, expr, AUTH_CAT(auth_r_, __LINE__))
#define AUTH_ASSIGN_IMPL(lhs, expr, tmp)        \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return tmp.status();           \
  lhs = std::move(tmp).value()
