// Kept for the bindings that include it: everything moved to convert.h.
#pragma once

#include "convert.h"
