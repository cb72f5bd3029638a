// SPDX-License-Identifier: GPL-2.0
/* handout_hook_a - see handout_hook.h; its hook returns 1001. */
#define HOOK_ID 1001
#include "handout_hook.h"

MODULE_DESCRIPTION("Farfetch'd Lab test: a handout-style farfetch(2) hook returning 1001");
