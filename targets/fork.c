// SPDX-License-Identifier: GPL-2.0
/*
 * fork: parent and child share the page that holds the string until one of
 * them writes it (copy-on-write). Write into the child: the child sees the
 * change, the parent keeps its copy. The address is the same in both.
 *
 * The parent prints everything ("parent: P", "child: C", and "pid: C",
 * "addr:", "len:" for the child) and owns stdin. Enter, or SIGUSR1 to
 * either process, lets both go on: the parent passes SIGUSR1 to the child,
 * or follows it once it has finished. The child prints "child now: ...",
 * then the parent "parent now: ...".
 */
#include "target_common.h"
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* Page-aligned and written before fork(): an anonymous page both then share. */
static char shared[4096] __attribute__((aligned(4096)));

int main(void)
{
	pid_t parent = getpid(), child;
	struct sigaction sa;

	catch_sigusr1();	/* inherited by the child */
	strcpy(shared, SECRET);
	fflush(stdout);
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		/* Don't outlive a parent that was killed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			return 1;
		wait_to_continue_on(0);
		print_now("child now", shared, sizeof(shared));
		return 0;
	}
	/* The child going on by itself (SIGUSR1 sent to it) lets the parent go on too. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	printf("parent: %d\nparent-addr: %p\nchild: %d\nchild-addr: %p\n", (int)parent,
	       (void *)shared, (int)child, (void *)shared);
	announce_pid(child, "the child's copy-on-write copy of a string it shares with its parent",
		     shared, sizeof(SECRET) - 1);
	wait_to_continue();
	kill(child, SIGUSR1);
	waitpid(child, NULL, 0);
	print_now("parent now", shared, sizeof(shared));
	return 0;
}
