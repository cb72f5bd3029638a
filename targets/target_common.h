/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every target does: print its pid and the address to look at in a
 * stable, machine-readable form, one "key: value" per line,
 *
 *   pid: 1234
 *   addr: 0x7f0123456000
 *   len: 20
 *
 * (lines starting with "#" are comments for people), wait until it is told
 * to go on, then print what it now holds as "now: <bytes>", non-printable
 * bytes as \xNN, and exit 0.
 *
 * Going on: Enter on stdin, or SIGUSR1 (for scripts: `kill -USR1 PID`). The
 * SIGUSR1 handler is installed before the pid is printed, so a script may
 * signal as soon as it has read the "pid:" line. With stdin at end of file
 * (</dev/null) only SIGUSR1 works. A target started in the background of a
 * terminal (`mmap &`) does not touch the terminal until it is brought back
 * with `fg`, so it is never stopped by SIGTTIN while it waits.
 */
#ifndef TARGET_COMMON_H
#define TARGET_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SECRET "Hey this is private!"

static volatile sig_atomic_t go_on;

static void on_sigusr1(int sig)
{
	(void)sig;
	go_on = 1;
}

/* Makes SIGUSR1 mean "go on" (no SA_RESTART: a blocked read() returns). */
static inline void catch_sigusr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

/* Prints the machine-readable lines for @len bytes at @addr in process @pid. */
static inline void announce_pid(pid_t pid, const char *what, const void *addr, size_t len)
{
	printf("pid: %d\naddr: %p\nlen: %zu\n", (int)pid, addr, len);
	printf("# %s; change it with: farfetchd %d %p %zu\n", what, (int)pid, addr, len);
	fflush(stdout);
}

static inline void announce(const char *what, const void *addr, size_t len)
{
	catch_sigusr1();
	announce_pid(getpid(), what, addr, len);
}

/* True when stdin is our controlling terminal and another process group owns it. */
static inline int in_background(void)
{
	pid_t fg;

	if (!isatty(STDIN_FILENO))
		return 0;
	fg = tcgetpgrp(STDIN_FILENO);
	return fg != -1 && fg != getpgrp();
}

/*
 * Returns once SIGUSR1 (or another signal whose handler sets go_on, such as
 * fork's SIGCHLD) has arrived or, if @use_stdin, a newline has been read
 * from stdin. Those signals stay blocked except inside ppoll() and read(),
 * so none can slip in between the check of go_on and the sleep.
 */
static inline void wait_to_continue_on(int use_stdin)
{
	const struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct pollfd in = { STDIN_FILENO, POLLIN, 0 };
	sigset_t usr1, orig;
	char c;

	catch_sigusr1();
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigaddset(&usr1, SIGCHLD);
	sigprocmask(SIG_BLOCK, &usr1, &orig);
	while (!go_on) {
		/* In the background: look again every tick, for `fg`. */
		int bg = use_stdin && in_background();
		int n = ppoll(use_stdin && !bg ? &in : NULL, use_stdin && !bg ? 1 : 0,
			      bg ? &tick : NULL, &orig);
		ssize_t got;

		if (n <= 0)
			continue;	/* the signal (go_on is set), or a tick */
		if (in.revents & POLLNVAL) {
			use_stdin = 0;
			continue;
		}
		sigprocmask(SIG_SETMASK, &orig, NULL);
		got = read(STDIN_FILENO, &c, 1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		if (got == 1 && c == '\n')
			break;
		if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
			use_stdin = 0;	/* end of file or error: only SIGUSR1 now */
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
}

static inline void wait_to_continue(void)
{
	printf("# press Enter (or send SIGUSR1) to continue\n");
	fflush(stdout);
	wait_to_continue_on(1);
}

/* Prints "@label: " and the bytes up to the first NUL, non-printable ones as \xNN. */
static inline void print_now(const char *label, const char *bytes, size_t len)
{
	size_t i;

	printf("%s: ", label);
	for (i = 0; i < len && bytes[i]; i++) {
		unsigned char ch = (unsigned char)bytes[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
	putchar('\n');
	fflush(stdout);
}

#endif
