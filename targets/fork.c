// SPDX-License-Identifier: GPL-2.0
/*
 * fork: parent and child share the page that holds the string until one of
 * them writes it (copy-on-write). Writing into the child must not change the
 * parent. Both print their pid; the address is the same in both.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include "target_common.h"

static char shared[64] = SECRET;

int main(void)
{
	pid_t child;

	printf("parent: %d\n", (int)getpid());
	fflush(stdout);
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		printf("child: %d\n", (int)getpid());
		announce("a string the child shares with its parent (copy-on-write)", shared,
			 sizeof(SECRET) - 1);
		wait_to_continue();
		print_now("child now", shared, sizeof(shared));
		return 0;
	}
	waitpid(child, NULL, 0);
	print_now("parent now", shared, sizeof(shared));
	return 0;
}
