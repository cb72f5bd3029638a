// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_bench: FAR_READ throughput of the loaded farfetch module against
 * process_vm_readv(2) on the same 1 MiB of another process, in the same run.
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

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
	int iterations = argc > 2 ? atoi(argv[2]) : 50;
	size_t len = mib << 20;
	int ready[2];
	unsigned char *shared, *buf;
	pid_t child;
	double t0, farfetch_s, pvr_s;
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
	if (read(ready[0], buf, 1) != 1) {
		perror("farfetch_bench: child");
		return 1;
	}

	t0 = now();
	for (i = 0; i < iterations; i++) {
		long n = syscall(__NR_farfetch, FAR_READ_CMD, buf, child,
				 (unsigned long)shared, len);

		if (n != (long)len) {
			fprintf(stderr, "farfetch_bench: FAR_READ returned %ld (%s); is farfetch_p2 loaded?\n",
				n, n < 0 ? strerror(errno) : "short copy");
			kill(child, SIGKILL);
			return 1;
		}
	}
	farfetch_s = now() - t0;
	for (size_t j = 0; j < len; j++) {
		if (buf[j] != pattern(j)) {
			fprintf(stderr, "farfetch_bench: FAR_READ byte %zu is wrong\n", j);
			kill(child, SIGKILL);
			return 1;
		}
	}

	memset(buf, 0, len);
	t0 = now();
	for (i = 0; i < iterations; i++) {
		struct iovec local = { buf, len }, remote = { shared, len };
		ssize_t n = process_vm_readv(child, &local, 1, &remote, 1, 0);

		if (n != (ssize_t)len) {
			perror("farfetch_bench: process_vm_readv");
			kill(child, SIGKILL);
			return 1;
		}
	}
	pvr_s = now() - t0;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("{\"bytes\":%zu,\"iterations\":%d,\"farfetchMiBps\":%.1f,\"processVmReadvMiBps\":%.1f}\n",
	       len, iterations, mib * iterations / farfetch_s, mib * iterations / pvr_s);
	return 0;
}
