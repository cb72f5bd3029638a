// SPDX-License-Identifier: GPL-2.0
/* malloc: a secret string on the heap. */
#include "target_common.h"
#include <stdlib.h>

int main(void)
{
	char *heap = malloc(64);

	if (!heap)
		return 1;
	strcpy(heap, SECRET);
	announce("a string on the heap", heap, sizeof(SECRET) - 1);
	wait_to_continue();
	print_now("now", heap, 64);
	free(heap);
	return 0;
}
