// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's memory and its target. Before the target is forked, the
 * fuzzer maps, at fixed addresses: its scratch pages (FAR_WRITE into
 * itself), the stable pattern pages (both processes hold them, read-only,
 * never written), the caller buffer with a PROT_NONE guard page after it,
 * and a read-only page. The target child then keeps changing its churn
 * region (mmap/munmap/mprotect/MADV_DONTNEED, page by page) and its 2 MiB
 * region (huge pages made, split and dropped), and forks short-lived
 * children: the "churning child" and "dead" pids of the calls.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared *shared;
unsigned char *buf;
unsigned char *ro_page;

static void *map_fixed(unsigned long addr, size_t len, int prot)
{
	void *p = mmap((void *)addr, len, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "farfetch_fuzz: mmap at %#lx: %s\n", addr, strerror(errno));
		exit(2);
	}
	return p;
}

void setup_memory(void)
{
	unsigned char *stable, *b;
	unsigned long i;

	b = mmap(NULL, BUF_BYTES + PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ro_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED || ro_page == MAP_FAILED) {
		perror("farfetch_fuzz: mmap");
		exit(2);
	}
	buf = b;
	mprotect(buf + BUF_BYTES, PAGE, PROT_NONE);
	memset(ro_page, 0x77, PAGE);
	mprotect(ro_page, PAGE, PROT_READ);

	memset(map_fixed(SCRATCH_ADDR, SCRATCH_PAGES * PAGE, PROT_READ | PROT_WRITE),
	       0, SCRATCH_PAGES * PAGE);
	stable = map_fixed(STABLE_ADDR, STABLE_PAGES * PAGE, PROT_READ | PROT_WRITE);
	for (i = 0; i < STABLE_PAGES * PAGE; i++)
		stable[i] = stable_byte(STABLE_ADDR + i);
	mprotect(stable, STABLE_PAGES * PAGE, PROT_READ);
	/* Reserved now so that the target's fixed mappings never land on someone else's. */
	map_fixed(CHURN_ADDR, CHURN_PAGES * PAGE, PROT_NONE);
	map_fixed(HUGE_ADDR, HUGE_BYTES, PROT_NONE);
}

static void touch(unsigned char *p, size_t len, uint64_t *s)
{
	size_t i;

	for (i = 0; i < len; i += PAGE)
		p[i] = (unsigned char)rnd(s);
}

/* One change to the target's address space. */
static void churn_once(uint64_t *s, unsigned char *prot)
{
	unsigned long first = below(s, CHURN_PAGES), n = 1 + below(s, 8), i;
	unsigned char *at = (unsigned char *)CHURN_ADDR + first * PAGE;
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
	int p = prots[below(s, 3)];
	unsigned long op;
	pid_t child;

	if (first + n > CHURN_PAGES)
		n = CHURN_PAGES - first;
	/*
	 * fork() and a new 2 MiB region cost milliseconds under TCG: rarer,
	 * so that the cheap changes keep coming while the calls run.
	 */
	op = below(s, 64);
	if (op >= 8)
		op = op < 10 ? 6 : op % 5 == 0 ? 7 : op % 5;
	switch (op) {
	case 0:
	case 1:
		if (mmap(at, n * PAGE, p, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			return;
		for (i = 0; i < n; i++)
			prot[first + i] = (unsigned char)(p | 8);
		break;
	case 2:
		munmap(at, n * PAGE);
		memset(prot + first, 0, n);
		break;
	case 3:
		if (mprotect(at, n * PAGE, p) < 0)
			return;	/* a hole in the range */
		for (i = 0; i < n; i++)
			prot[first + i] = (unsigned char)(p | 8);
		break;
	case 4:
		madvise(at, n * PAGE, MADV_DONTNEED);
		break;
	case 5:
		child = fork();
		if (child == 0) {
			usleep((useconds_t)below(s, 2000));
			_exit(0);
		}
		if (child > 0) {
			atomic_store(&shared->churn_pid, child);
			atomic_fetch_add(&shared->forks, 1);
		}
		break;
	case 6: {
		/* The 2 MiB region: fault in huge pages, split one, drop it all. */
		unsigned char *h = (unsigned char *)HUGE_ADDR;

		if (below(s, 4) == 0) {
			mmap(h, HUGE_BYTES, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			madvise(h, HUGE_BYTES, MADV_HUGEPAGE);
			touch(h, HUGE_BYTES, s);
		} else if (below(s, 2)) {
			madvise(h + below(s, HUGE_BYTES / PAGE) * PAGE, PAGE, MADV_DONTNEED);
		} else {
			madvise(h, HUGE_BYTES, MADV_DONTNEED);
		}
		break;
	}
	default:
		for (i = 0; i < n; i++) {
			if ((prot[first + i] & (8 | PROT_WRITE)) == (8 | PROT_WRITE))
				at[i * PAGE + below(s, PAGE)] = (unsigned char)rnd(s);
		}
		break;
	}
	atomic_fetch_add(&shared->ops, 1);
}

static void reap(void)
{
	pid_t dead;

	while ((dead = waitpid(-1, NULL, WNOHANG)) > 0)
		atomic_store(&shared->dead_pid, dead);
}

static void __attribute__((noreturn)) target_main(uint64_t seed)
{
	unsigned char prot[CHURN_PAGES] = { 0 };
	uint64_t s = seed | 1;
	int on_stack = 0, devnull;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* A stray write into our stack ends us with glibc's "stack smashing" line: not news. */
	devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0)
		dup2(devnull, 2);
	atomic_store(&shared->stack_addr, (unsigned long)&on_stack);
	while (!atomic_load(&shared->stop)) {
		churn_once(&s, prot);
		reap();
	}
	while (wait(NULL) > 0)
		;
	_exit(0);
}

pid_t spawn_target(uint64_t seed)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("farfetch_fuzz: fork");
		exit(2);
	}
	if (pid == 0)
		target_main(seed);
	atomic_store(&shared->target_pid, pid);
	return pid;
}

/* @pid if it still runs, else a new target (a target killed by a stray write). */
pid_t target_alive(pid_t pid, uint64_t seed)
{
	int status;

	if (waitpid(pid, &status, WNOHANG) != pid)
		return pid;
	atomic_store(&shared->dead_pid, pid);
	tally->restarts++;
	if (verbose)
		printf("target %d ended (status %#x): a new one\n", pid, status);
	return spawn_target(seed);
}

void stop_target(pid_t pid)
{
	atomic_store(&shared->stop, 1);
	waitpid(pid, NULL, 0);
	atomic_store(&shared->stop, 0);
}
