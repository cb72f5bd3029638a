// SPDX-License-Identifier: GPL-2.0
/*
 * strlit: a string literal, in read-only memory. Part 1 cannot write it
 * (the pte is not writable: -EFAULT); Part 2 can, as ptrace does (FOLL_FORCE
 * breaks copy-on-write into a private copy).
 */
#include "target_common.h"

static const char *const literal = SECRET;

int main(void)
{
	announce("a string literal in read-only memory", literal, strlen(literal));
	wait_to_continue();
	print_now("now", literal, strlen(SECRET));
	return 0;
}
