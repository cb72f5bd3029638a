// SPDX-License-Identifier: GPL-2.0
/*
 * Cases: who calls (effective vs real uid, a thread's id as the pid) and
 * long or broken ranges (many MiB, the MAX_RW_COUNT clamp, a source buffer
 * that ends midway).
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>

struct ids {
	uid_t r, e, s;
};

static long read_with_ids(void *arg)
{
	const struct ids *ids = arg;
	char buf[8];

	if (setresgid(STUDENT, STUDENT, STUDENT) || setresuid(ids->r, ids->e, ids->s))
		return -255;
	return sys_far(FAR_READ, buf, getppid(), (unsigned long)data_page, 8);
}

static int effective_uid_decides_not_real_uid(void)
{
	REQUIRE(data_page[0] == 'H');	/* present in the target (us), for Part 1 */
	EXPECT_ERR(in_child(read_with_ids, &(struct ids){ 0, STUDENT, 0 }), EPERM);
	EXPECT_EQ(in_child(read_with_ids, &(struct ids){ STUDENT, 0, STUDENT }), 8);
	return 0;
}

static int gup_write_source_gone_midway_writes_the_first_page_only(void)
{
	char *src = map_pages(2), *p = map_pages(2), seen[2 * PAGE];
	struct target t;

	REQUIRE(src && p);
	memset(src, 's', PAGE);
	munmap(src + PAGE, PAGE);
	t = spawn(fill_two_pages, p);	/* the target's own 'a's */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, src, t.pid, (unsigned long)p, 2 * PAGE), PAGE);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, 2 * PAGE), 2 * PAGE);
	reap(&t);
	EXPECT_MEM(seen, src, PAGE);
	/* Not zero-filled: the second page is as the target left it. */
	memset(src, 'a', PAGE);
	EXPECT_MEM(seen + PAGE, src, PAGE);
	return 0;
}

static int gup_copies_many_mib_across_2_mib_and_1_gib_boundaries(void)
{
	/* 6 MiB around a 1 GiB boundary well inside user space (64 GiB). */
	const unsigned long gib = 1UL << 30, len = 6UL << 20;
	char *p = mmap((void *)(64 * gib - len / 2), len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long i;
	struct target t;

	REQUIRE(p != MAP_FAILED && buf != MAP_FAILED);
	for (i = 0; i < len; i += sizeof(unsigned long))
		*(unsigned long *)(p + i) = (unsigned long)p + i;
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, len), len);
	reap(&t);
	EXPECT_MEM(buf, p, len);
	return 0;
}

static int p2_clamps_len_to_max_rw_count(void)
{
	/*
	 * 2 GiB of address space, as 1024 views of one 2 MiB memfd, read into
	 * itself: only MAX_RW_COUNT (INT_MAX rounded down to a page) of it.
	 */
	const unsigned long view = 2UL << 20, views = 1024;
	const unsigned long max_rw_count = 0x7ffff000UL;
	char *p = mmap(NULL, views * view, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = memfd_create("farfetch_tests", MFD_CLOEXEC);
	unsigned long i;

	REQUIRE(p != MAP_FAILED && fd >= 0);
	REQUIRE(ftruncate(fd, view) == 0);
	for (i = 0; i < views; i++)
		REQUIRE(mmap(p + i * view, view, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			     fd, 0) == p + i * view);
	memset(p, 'm', view);
	EXPECT_EQ(sys_far(FAR_READ, p, getpid(), (unsigned long)p, SIZE_MAX), max_rw_count);
	EXPECT_EQ(p[views * view - 1], 'm');
	munmap(p, views * view);
	close(fd);
	return 0;
}

/* ---- threads ---- */

static void *wait_for_cancel(void *arg)
{
	pid_t *tid = arg;

	*tid = gettid();
	pause();
	return NULL;
}

static int thread_id_as_pid_reads_the_process(void)
{
	char buf[sizeof(SECRET)] = "";
	pthread_t thread;
	volatile pid_t tid = 0;

	REQUIRE(data_page[0] == 'H');	/* present, for Part 1 */
	REQUIRE(pthread_create(&thread, NULL, wait_for_cancel, (void *)&tid) == 0);
	while (!tid)
		sched_yield();
	/* A thread's id names the thread, which has the process's mm. */
	EXPECT_EQ(far(FAR_READ, buf, tid, (unsigned long)data_page, sizeof(SECRET)),
		  sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	pthread_cancel(thread);
	pthread_join(thread, NULL);
	return 0;
}

const struct test_case caller_cases[] = {
	CASE(effective_uid_decides_not_real_uid, M_SYSCALL),
	CASE(gup_write_source_gone_midway_writes_the_first_page_only, M_GUP),
	CASE(gup_copies_many_mib_across_2_mib_and_1_gib_boundaries, M_GUP),
	/* 2 GiB copied: minutes under TCG with one page per GUP call. */
	SLOW_CASE(p2_clamps_len_to_max_rw_count, M_P2, 1200),
	CASE(thread_id_as_pid_reads_the_process, M_ANY),
};

const size_t nr_caller_cases = sizeof(caller_cases) / sizeof(caller_cases[0]);
