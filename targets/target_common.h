/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every target does: print its pid and the address to look at in a
 * stable form ("pid: N", "addr: 0x...", "len: N"), wait until it is told to
 * go on (Enter, or SIGUSR1 for scripts), then print what it now holds.
 */
#ifndef TARGET_COMMON_H
#define TARGET_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SECRET "Hey this is private!"

static volatile sig_atomic_t go_on;

static void on_sigusr1(int sig)
{
	(void)sig;
	go_on = 1;
}

static void announce(const char *what, const void *addr, size_t len)
{
	printf("pid: %d\naddr: %p\nlen: %zu\n", (int)getpid(), addr, len);
	printf("# %s; change it with farfetchd %d %p %zu\n", what, (int)getpid(), addr, len);
	fflush(stdout);
}

/* Returns once Enter is pressed or SIGUSR1 arrives (stdin at EOF: only SIGUSR1). */
static void wait_to_continue(void)
{
	struct sigaction sa;
	sigset_t block, old;
	char c;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: read() returns on the signal */
	printf("# press Enter (or send SIGUSR1) to continue\n");
	fflush(stdout);
	while (!go_on) {
		ssize_t n = read(STDIN_FILENO, &c, 1);

		if (n == 1 && c == '\n')
			break;
		if (n == 0 || (n < 0 && errno != EINTR)) {
			sigemptyset(&block);
			sigaddset(&block, SIGUSR1);
			sigprocmask(SIG_BLOCK, &block, &old);
			while (!go_on)
				sigsuspend(&old);
			sigprocmask(SIG_SETMASK, &old, NULL);
		}
	}
}

/* Prints "now: " and the bytes, non-printable ones as \xNN. */
static void print_now(const char *label, const char *bytes, size_t len)
{
	size_t i;

	printf("%s: ", label);
	for (i = 0; i < len && bytes[i]; i++) {
		unsigned char ch = (unsigned char)bytes[i];

		if (ch >= 0x20 && ch < 0x7f)
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
	putchar('\n');
	fflush(stdout);
}

#endif
