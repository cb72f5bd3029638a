// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_bench: FAR_READ throughput of the loaded farfetch module against
 * process_vm_readv(2) on the same 1 MiB of another process, in the same run:
 * the two calls alternate, so that a load that comes and goes weighs on both.
 *
 * Usage: farfetch_bench [MiB] [iterations]     (defaults: 1 MiB, 50 iterations)
 * Prints one line of JSON. Needs root and farfetch_p2 (p1 copies one page per call).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __NR_farfetch
#define __NR_farfetch 505
#endif
#define FAR_READ_CMD 0

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + 7);
}

/* One FAR_READ of all of the child's buffer: 0, or 1 after saying why. */
static int far_read(pid_t child, unsigned char *shared, unsigned char *buf, size_t len)
{
	long n = syscall(__NR_farfetch, FAR_READ_CMD, buf, child, (unsigned long)shared, len);

	if (n == (long)len)
		return 0;
	fprintf(stderr, "farfetch_bench: FAR_READ returned %ld (%s); is farfetch_p2 loaded?\n",
		n, n < 0 ? strerror(errno) : "short copy");
	return 1;
}

/* The same read through process_vm_readv(2). */
static int pvr_read(pid_t child, unsigned char *shared, unsigned char *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { shared, len };
	ssize_t n = process_vm_readv(child, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	perror("farfetch_bench: process_vm_readv");
	return 1;
}

/* 0 if @buf holds the child's pattern, else 1 after naming the first wrong byte. */
static int check(const unsigned char *buf, size_t len, const char *how)
{
	for (size_t j = 0; j < len; j++) {
		if (buf[j] != pattern(j)) {
			fprintf(stderr, "farfetch_bench: %s byte %zu is wrong\n", how, j);
			return 1;
		}
	}
	return 0;
}

/* Each way once into a cleared buffer, checked: 0, or 1 after saying what was wrong. */
static int checked_reads(pid_t child, unsigned char *shared, unsigned char *buf, size_t len)
{
	memset(buf, 0, len);
	if (far_read(child, shared, buf, len) || check(buf, len, "FAR_READ"))
		return 1;
	memset(buf, 0, len);
	return pvr_read(child, shared, buf, len) || check(buf, len, "process_vm_readv");
}

int main(int argc, char **argv)
{
	/* The two ways of reading, timed in turn: FAR_READ is way 0. */
	int (*const ways[2])(pid_t, unsigned char *, unsigned char *, size_t) = {
		far_read, pvr_read
	};
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
	int iterations = argc > 2 ? atoi(argv[2]) : 50;
	size_t len = mib << 20;
	int ready[2];
	unsigned char *shared, *buf;
	pid_t child;
	double t0, spent[2] = { 0, 0 };
	int i;

	if (mib == 0 || iterations <= 0) {
		fprintf(stderr, "usage: farfetch_bench [MiB] [iterations]\n");
		return 2;
	}
	/* The child's buffer is at the same address as in the parent (fork). */
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(len);
	if (shared == MAP_FAILED || !buf || pipe(ready)) {
		perror("farfetch_bench: setup");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("farfetch_bench: fork");
		return 1;
	}
	if (child == 0) {
		for (size_t j = 0; j < len; j++)
			shared[j] = pattern(j);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	/* Only the child writes: a child that dies first ends the read. */
	close(ready[1]);
	if (read(ready[0], buf, 1) != 1) {
		fprintf(stderr, "farfetch_bench: the child did not get ready\n");
		goto fail;
	}

	/*
	 * The caller's buffer is faulted in before anything is timed, and each
	 * way is called once untimed and checked: the first call pays the page
	 * faults on the buffer and, under TCG, the translation of its kernel
	 * paths, which would otherwise count against whichever way runs first.
	 * The timed calls then alternate, the order flipped every round, so that
	 * a load that comes and goes weighs on both alike.
	 */
	if (checked_reads(child, shared, buf, len))
		goto fail;
	for (i = 0; i < iterations; i++) {
		for (int k = 0; k < 2; k++) {
			int way = k ^ (i & 1);

			t0 = now();
			if (ways[way](child, shared, buf, len))
				goto fail;
			spent[way] += now() - t0;
		}
	}
	/* Each way once more, untimed, into a cleared buffer: still the right bytes. */
	if (checked_reads(child, shared, buf, len))
		goto fail;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("{\"bytes\":%zu,\"iterations\":%d,\"farfetchMiBps\":%.1f,\"processVmReadvMiBps\":%.1f}\n",
	       len, iterations, mib * iterations / spent[0], mib * iterations / spent[1]);
	return 0;

fail:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 1;
}
