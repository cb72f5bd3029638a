// SPDX-License-Identifier: GPL-2.0
/*
 * The stress run: a target process whose threads loop mmap/munmap and
 * MADV_DONTNEED over its churn and huge-page regions until one of them
 * exits the whole process (or the fuzzer kills it), replaced at once by a
 * new one; meanwhile two caller threads loop farfetch(2) (or the device)
 * on the current target and a third walks its page tables through
 * lab_introspect (what lab-ptwalk does). The calls race every teardown
 * path: VMAs, page tables and the mm going away under them.
 *
 * A caller may name a target that has just exited and whose pid another
 * process has taken: its writes go only to the churn and huge-page
 * regions, which no other process maps.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PTWALK "/sys/kernel/debug/farfetch_lab/ptwalk"

static const struct part *part;
static atomic_int done;
static atomic_ulong walks_ok;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *churner(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg | 1;
	unsigned char *at;
	size_t len;

	for (;;) {
		if (below(&s, 2)) {
			at = (unsigned char *)CHURN_ADDR + below(&s, CHURN_PAGES) * PAGE;
			len = PAGE * (1 + below(&s, 4));
		} else {
			at = (unsigned char *)HUGE_ADDR;
			len = below(&s, 2) ? HUGE_BYTES : PAGE * (1 + below(&s, 512));
		}
		if (at + len > (unsigned char *)CHURN_ADDR + CHURN_PAGES * PAGE && at < (unsigned char *)HUGE_ADDR)
			len = (size_t)((unsigned char *)CHURN_ADDR + CHURN_PAGES * PAGE - at);
		switch (below(&s, 4)) {
		case 0:
			if (mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) != MAP_FAILED) {
				madvise(at, len, MADV_HUGEPAGE);
				memset(at, (int)below(&s, 256), len);
			}
			break;
		case 1: munmap(at, len); break;
		case 2: madvise(at, len, MADV_DONTNEED); break;
		default:
			if (below(&s, 200) == 0)
				_exit(0);	/* the whole process, mid-way for the others */
			break;
		}
	}
	return NULL;
}

static pid_t spawn_stress_target(uint64_t seed)
{
	pthread_t t;
	pid_t pid;
	int i;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 2; i++)
			pthread_create(&t, NULL, churner, (void *)(uintptr_t)(seed * 7 + (uint64_t)i));
		churner((void *)(uintptr_t)(seed * 13));
	}
	if (pid > 0)
		atomic_store(&shared->target_pid, pid);
	return pid;
}

static void tally_call(long ret, const char *op)
{
	__atomic_fetch_add(&tally->calls, 1, __ATOMIC_RELAXED);
	if (ret >= 0) {
		__atomic_fetch_add(&tally->ok, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&tally->bytes, (unsigned long)ret, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&tally->errnos[-ret < 256 ? -ret : 0], 1, __ATOMIC_RELAXED);
	if (!errno_allowed(part->num, op, (int)-ret, 0))
		violation("stress: %s = -%s, not allowed", op, errno_name((int)-ret));
}

static unsigned long stress_addr(uint64_t *s)
{
	return below(s, 2) ? CHURN_ADDR + below(s, CHURN_PAGES * PAGE) : HUGE_ADDR + below(s, HUGE_BYTES);
}

static void *caller(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg | 1;
	unsigned char local[3 * PAGE];
	unsigned long len, addr;
	int fd = -1, write_op;
	pid_t pid;
	long ret;

	if (part->num == 3)
		fd = open(part->dev_path, O_RDWR | O_CLOEXEC);
	while (!atomic_load(&done)) {
		pid = atomic_load(&shared->target_pid);
		addr = stress_addr(&s);
		len = 1 + below(&s, sizeof(local));
		write_op = (int)below(&s, 2);
		if (part->num != 3) {
			ret = sys_far(write_op, local, pid, addr, len);
			tally_call(ret, "farfetch");
			check_bytes(ret, len, part->num == 1 ? PAGE - (addr & (PAGE - 1)) : len, "stress");
			continue;
		}
		ret = ioctl(fd, 0, &pid) < 0 ? -errno : 0;
		tally_call(ret, "ioctl");
		if (lseek(fd, (off_t)addr, SEEK_SET) == -1)
			tally_call(-errno, "lseek");
		ret = write_op ? write(fd, local, len) : read(fd, local, len);
		ret = ret < 0 ? -errno : ret;
		tally_call(ret, write_op ? "write" : "read");
		check_bytes(ret, len, len, "stress");
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *walker(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg | 1;
	char req[64], report[8192];
	int fd;

	while (!atomic_load(&done)) {
		fd = open(PTWALK, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			violation("stress: open %s: %s", PTWALK, strerror(errno));
			return NULL;
		}
		snprintf(req, sizeof(req), "%d %#lx\n", atomic_load(&shared->target_pid), stress_addr(&s));
		if (write(fd, req, strlen(req)) > 0) {
			while (read(fd, report, sizeof(report)) > 0)
				;
			atomic_fetch_add(&walks_ok, 1);
		}
		__atomic_fetch_add(&tally->walks, 1, __ATOMIC_RELAXED);
		close(fd);
	}
	return NULL;
}

void stress(const struct part *p, unsigned int seconds, uint64_t seed)
{
	double end = now() + seconds;
	pthread_t threads[3];
	uint64_t s = seed;
	unsigned long targets = 0;
	pid_t pid;
	int i;

	part = p;
	pid = spawn_stress_target(seed);
	for (i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, caller, (void *)(uintptr_t)(seed + 17 * (uint64_t)i));
	pthread_create(&threads[2], NULL, walker, (void *)(uintptr_t)(seed + 99));
	while (now() < end) {
		usleep((useconds_t)(1000 * (50 + below(&s, 500))));
		if (waitpid(pid, NULL, WNOHANG) != pid) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		targets++;
		pid = spawn_stress_target(seed + targets);
	}
	atomic_store(&done, 1);
	for (i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	tally->restarts = targets;
	printf("stress: %u s, %lu targets, %lu calls, %lu page walks (%lu answered)\n", seconds,
	       targets, tally->calls, tally->walks, atomic_load(&walks_ok));
}
