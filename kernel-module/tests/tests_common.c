// SPDX-License-Identifier: GPL-2.0
/* Cases: what every module does alike (system call or device). */
#include "harness.h"

static int exited_process_is_esrch(void)
{
	pid_t zombie = zombie_pid();
	char buf[8];

	REQUIRE(zombie > 0);
	/* p3: ioctl() finds the task, read() finds it has no mm. */
	EXPECT_ERR(far(FAR_READ, buf, zombie, (unsigned long)data_page, 8), ESRCH);
	EXPECT_ERR(far(FAR_WRITE, buf, zombie, (unsigned long)data_page, 8), ESRCH);
	return 0;
}

static int address_at_task_size_is_efault(void)
{
	unsigned long top = task_size();
	char buf[8];

	REQUIRE(top);
	EXPECT_ERR(far(FAR_READ, buf, getpid(), top, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, buf, getpid(), top, 8), EFAULT);
	EXPECT_ERR(far(FAR_READ, buf, getpid(), top + PAGE, 8), EFAULT);
	/* Below 2^63: a file position can hold it, so p3 is asked too. */
	EXPECT_ERR(far(FAR_READ, buf, getpid(), 1UL << 62, 8), EFAULT);
	/*
	 * The vsyscall page: mapped (for reading) in every process, but not
	 * user space; and far above. The device gets these through
	 * far_high(), which also accepts EINVAL from lseek(): a negative
	 * file position is the kernel's default refusal (default_llseek), and
	 * the spec leaves the device's llseek to the student
	 * (docs/spec-decisions.md).
	 */
	EXPECT_ERR(far_high(FAR_READ, buf, getpid(), 0xffffffffff600000UL, 8), EFAULT);
	EXPECT_ERR(far_high(FAR_READ, buf, getpid(), module == M_P3 ? 1UL << 63 : ~0UL - 7, 8),
		   EFAULT);
	return 0;
}

static int last_page_below_task_size_is_user_space(void)
{
	unsigned long top = task_size();
	char *last, buf[100];
	struct target t;

	REQUIRE(top);
	last = mmap((void *)(top - PAGE), PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	REQUIRE(last != MAP_FAILED);
	t = spawn(fill_last_page, last);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, top - PAGE, 8), 8);
	EXPECT_MEM(buf, "TTTTTTTT", 8);
	/* p1: to the end of the page; p2, p3: up to TASK_SIZE, where user space ends. */
	EXPECT_EQ(far(FAR_READ, buf, t.pid, top - sizeof(SECRET), sizeof(buf)), sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	EXPECT_EQ(far(FAR_WRITE, "BYE", t.pid, top - 4, 4), 4);
	EXPECT_EQ(peek(t.pid, top - 4, buf, 4), 4);
	reap(&t);
	EXPECT_MEM(buf, "BYE", 4);
	return 0;
}

static int unmapped_address_is_efault(void)
{
	char *p = map_pages(1);
	char buf[8];

	REQUIRE(p);
	munmap(p, PAGE);
	EXPECT_ERR(far(FAR_READ, buf, getpid(), (unsigned long)p, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, buf, getpid(), (unsigned long)p, 8), EFAULT);
	EXPECT_ERR(far(FAR_READ, buf, getpid(), 0, 8), EFAULT);
	return 0;
}

static int bad_caller_buffer_is_efault(void)
{
	char *gone = map_pages(1);

	REQUIRE(gone);
	munmap(gone, PAGE);
	EXPECT_ERR(far(FAR_READ, (void *)8, getpid(), (unsigned long)data_page, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, (void *)8, getpid(), (unsigned long)data_page, 8), EFAULT);
	EXPECT_ERR(far(FAR_READ, gone, getpid(), (unsigned long)data_page, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, gone, getpid(), (unsigned long)data_page, 8), EFAULT);
	/* A buffer the caller may only read can't be FAR_READ into. */
	EXPECT_ERR(far(FAR_READ, (void *)literal, getpid(), (unsigned long)data_page, 8), EFAULT);
	EXPECT_MEM(data_page, SECRET, sizeof(SECRET));
	EXPECT_MEM(literal, SECRET, sizeof(SECRET));
	return 0;
}

static int read_from_another_process(void)
{
	char *p = map_pages(1);
	struct target t;
	char buf[sizeof(SECRET)] = "";

	REQUIRE(p);
	t = spawn(write_secret, p + 100);	/* only the target has the secret */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 100, sizeof(SECRET)),
		  sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	return 0;
}

static int read_own_memory(void)
{
	char buf[sizeof(SECRET)] = "";

	EXPECT_EQ(far(FAR_READ, buf, getpid(), (unsigned long)data_page, sizeof(SECRET)),
		  sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	return 0;
}

static int write_into_another_process(void)
{
	char *p = map_pages(1);
	struct target t;
	char seen[sizeof(SECRET)] = "";

	REQUIRE(p);
	t = spawn(write_secret, p);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "Howdy", t.pid, (unsigned long)p, 5), 5);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "Howdyhis is private!", sizeof(SECRET));
	return 0;
}

static int write_own_memory(void)
{
	/* Written once by the process itself: a private, writable copy (for Part 1). */
	strcpy(data_page, SECRET);
	EXPECT_EQ(far(FAR_WRITE, "Yo!", getpid(), (unsigned long)data_page, 3), 3);
	EXPECT_MEM(data_page, "Yo! this is private!", sizeof(SECRET));
	return 0;
}

static int high_address_above_47_bits(void)
{
	char *p, buf[sizeof(SECRET)] = "";
	struct target t;

	if (task_size() != (1UL << 56) - PAGE)
		SKIP("4-level paging: no user addresses above 2^47");
	p = mmap((void *)(1UL << 52), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED || (unsigned long)p < (1UL << 47))
		return fail("expected a mapping above 2^47 (5-level paging), got %p", p);
	t = spawn(write_secret, p);	/* the target's own, writable page */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, sizeof(SECRET)), sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	EXPECT_EQ(far(FAR_WRITE, "5LVL", t.pid, (unsigned long)p, 4), 4);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, buf, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(buf, "5LVLthis is private!", sizeof(SECRET));
	return 0;
}

const struct test_case common_cases[] = {
	CASE(exited_process_is_esrch, M_ANY),
	CASE(address_at_task_size_is_efault, M_ANY),
	CASE(last_page_below_task_size_is_user_space, M_ANY),
	CASE(unmapped_address_is_efault, M_ANY),
	CASE(bad_caller_buffer_is_efault, M_ANY),
	CASE(read_from_another_process, M_ANY),
	CASE(read_own_memory, M_ANY),
	CASE(write_into_another_process, M_ANY),
	CASE(write_own_memory, M_ANY),
	CASE(high_address_above_47_bits, M_ANY),
};

const size_t nr_common_cases = sizeof(common_cases) / sizeof(common_cases[0]);
