// SPDX-License-Identifier: GPL-2.0
/*
 * twecho: echoes its first argument twice, before and after the wait. The
 * argument lives on the stack; run it under `setarch -R` so that its address
 * is the same every time.
 */
#include "target_common.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: twecho WORD   (try: setarch -R twecho hello)\n");
		return 2;
	}
	printf("echo: %s\n", argv[1]);
	announce("the first argument, on the stack", argv[1], strlen(argv[1]));
	wait_to_continue();
	print_now("now", argv[1], strlen(argv[1]));
	return 0;
}
