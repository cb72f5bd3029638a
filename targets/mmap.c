// SPDX-License-Identifier: GPL-2.0
/* mmap: a secret string in an anonymous mapping. */
#include "target_common.h"
#include <sys/mman.h>

int main(void)
{
	char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	strcpy(page, SECRET);
	announce("a string in an anonymous mmap", page, sizeof(SECRET) - 1);
	wait_to_continue();
	print_now("now", page, 4096);
	return 0;
}
