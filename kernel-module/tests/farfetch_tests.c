// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_tests: the in-guest test suite of Farfetch'd, one named case per
 * behaviour of the spec, each with its exact expected result or errno.
 *
 *   farfetch_tests --module none|p1|p2|p3 [--unloaded] [--case NAME]
 *
 * none, p1 and p2 go through farfetch(2) (system call 505); p3 through
 * /dev/farfetch, which the caller has made (mknod -m 0666). With none, the
 * hook cases (tests_hooks.c) load and unload modules themselves. --unloaded runs
 * only the check that a leftover /dev/farfetch fails with ENXIO after
 * rmmod. --case runs the one case of that name. Run as root.
 *
 * Each case runs in a child process of its own (a crash or a hang fails
 * that case only, after TIMEOUT seconds). Its targets are processes it forks
 * itself; their memory is checked independently with process_vm_readv(2).
 *
 * Output is TAP: "1..N", then per case "ok N - name" (or "ok N - name
 * # SKIP why" for a case that can't run here, counted as passed) or
 * "not ok N - name # expected X, got Y ...", then one line
 * "N passed, N failed". The exit status is 0 only if nothing failed
 * (2: bad arguments, or not root).
 */
#include "harness.h"

/* ---- cases: no module (every call is -ENOSYS) ---- */

static int none_read_is_enosys(void)
{
	char buf[8];

	EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)data_page, 8), ENOSYS);
	return 0;
}

static int none_write_is_enosys(void)
{
	EXPECT_ERR(sys_far(FAR_WRITE, data_page, getpid(), (unsigned long)data_page, 8), ENOSYS);
	EXPECT_MEM(data_page, SECRET, sizeof(SECRET));
	return 0;
}

static int none_bad_cmd_is_enosys(void)
{
	EXPECT_ERR(sys_far(7, NULL, 0, 0, 0), ENOSYS);
	return 0;
}

static int none_zero_len_is_enosys(void)
{
	EXPECT_ERR(sys_far(FAR_READ, NULL, getpid(), 0, 0), ENOSYS);
	return 0;
}

static int none_no_such_pid_is_enosys(void)
{
	char buf[8];

	EXPECT_ERR(sys_far(FAR_READ, buf, dead_pid(), (unsigned long)data_page, 8), ENOSYS);
	return 0;
}

static long student_read_self(void *arg)
{
	char buf[8];

	(void)arg;
	return sys_far(FAR_READ, buf, getpid(), (unsigned long)data_page, 8);
}

static int none_non_root_is_enosys(void)
{
	EXPECT_ERR(as_student(student_read_self, NULL), ENOSYS);
	return 0;
}

/* ---- cases: argument checks, in the spec's order (system call) ---- */

static int bad_cmd_is_einval(void)
{
	char buf[8];

	EXPECT_ERR(sys_far(2, buf, getpid(), (unsigned long)data_page, 8), EINVAL);
	EXPECT_ERR(sys_far(~0U, buf, getpid(), (unsigned long)data_page, 8), EINVAL);
	return 0;
}

static int bad_cmd_checked_before_len(void)
{
	EXPECT_ERR(sys_far(5, NULL, getpid(), 0, 0), EINVAL);
	return 0;
}

static int zero_len_returns_zero_before_other_checks(void)
{
	/* No such pid, an address above user space, no buffer: still 0. */
	EXPECT_EQ(sys_far(FAR_READ, NULL, dead_pid(), ~0UL, 0), 0);
	EXPECT_EQ(sys_far(FAR_WRITE, NULL, dead_pid(), ~0UL, 0), 0);
	return 0;
}

static long student_read(void *arg)
{
	char buf[8];

	return sys_far(FAR_READ, buf, *(pid_t *)arg, (unsigned long)data_page, 8);
}

static long student_write(void *arg)
{
	return sys_far(FAR_WRITE, "12345678", *(pid_t *)arg, (unsigned long)data_page, 8);
}

static long student_bad_cmd(void *arg)
{
	char buf[8];

	return sys_far(2, buf, *(pid_t *)arg, (unsigned long)data_page, 8);
}

static long student_zero_len(void *arg)
{
	return sys_far(FAR_READ, NULL, *(pid_t *)arg, (unsigned long)data_page, 0);
}

static int non_root_is_eperm(void)
{
	pid_t self = getpid();

	EXPECT_ERR(as_student(student_read, &self), EPERM);
	EXPECT_ERR(as_student(student_write, &self), EPERM);
	EXPECT_MEM(data_page, SECRET, sizeof(SECRET));
	return 0;
}

static int non_root_target_is_still_eperm(void)
{
	/* The check is on the caller: a student may not even read a student. */
	struct target t = spawn(NULL, NULL);
	long ret;

	REQUIRE(t.pid > 0);
	ret = as_student(student_read, &t.pid);
	reap(&t);
	EXPECT_ERR(ret, EPERM);
	return 0;
}

static int bad_cmd_checked_before_eperm(void)
{
	pid_t self = getpid();

	EXPECT_ERR(as_student(student_bad_cmd, &self), EINVAL);
	return 0;
}

static int zero_len_checked_before_eperm(void)
{
	pid_t self = getpid();

	EXPECT_EQ(as_student(student_zero_len, &self), 0);
	return 0;
}

static int eperm_checked_before_esrch(void)
{
	pid_t nobody = dead_pid();

	EXPECT_ERR(as_student(student_read, &nobody), EPERM);
	return 0;
}

static int no_such_pid_is_esrch(void)
{
	char buf[8];

	EXPECT_ERR(sys_far(FAR_READ, buf, dead_pid(), (unsigned long)data_page, 8), ESRCH);
	EXPECT_ERR(sys_far(FAR_WRITE, buf, dead_pid(), (unsigned long)data_page, 8), ESRCH);
	EXPECT_ERR(sys_far(FAR_READ, buf, -1, (unsigned long)data_page, 8), ESRCH);
	EXPECT_ERR(sys_far(FAR_READ, buf, 0x7fffffff, (unsigned long)data_page, 8), ESRCH);
	return 0;
}

static int kernel_thread_is_esrch(void)
{
	char buf[8];

	/* pid 2 is kthreadd: a task with no mm. */
	EXPECT_ERR(sys_far(FAR_READ, buf, 2, (unsigned long)data_page, 8), ESRCH);
	EXPECT_ERR(sys_far(FAR_WRITE, buf, 2, (unsigned long)data_page, 8), ESRCH);
	return 0;
}

static int esrch_checked_before_efault(void)
{
	char buf[8];

	EXPECT_ERR(sys_far(FAR_READ, buf, dead_pid(), ~0UL - 7, 8), ESRCH);
	EXPECT_ERR(sys_far(FAR_READ, NULL, dead_pid(), (unsigned long)data_page, 8), ESRCH);
	return 0;
}

/* ---- cases: every module ---- */

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
	/* The vsyscall page: mapped (for reading) in every process, but not user space. */
	EXPECT_ERR(far(FAR_READ, buf, getpid(), 0xffffffffff600000UL, 8), EFAULT);
	/*
	 * Far above: lseek() to within 4095 of 2^64 returns a value glibc takes
	 * for an error, so the device is asked at 2^63.
	 */
	EXPECT_ERR(far(FAR_READ, buf, getpid(), module == M_P3 ? 1UL << 63 : ~0UL - 7, 8), EFAULT);
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

/* ---- cases: Part 1 only (no GUP) ---- */

static int p1_copies_only_to_the_end_of_the_page(void)
{
	char *p = map_pages(2);
	static char buf[3 * PAGE];

	REQUIRE(p);
	memset(p, 'a', 2 * PAGE);
	EXPECT_EQ(sys_far(FAR_READ, buf, getpid(), (unsigned long)p + PAGE - 10, 100), 10);
	EXPECT_MEM(buf, "aaaaaaaaaa", 10);
	EXPECT_EQ(sys_far(FAR_READ, buf, getpid(), (unsigned long)p, 3 * PAGE), PAGE);
	EXPECT_MEM(buf, p, PAGE);
	/* Nothing past the page: buf is static, so still zero there. */
	EXPECT_EQ(buf[PAGE], 0);
	return 0;
}

static int p1_writes_only_to_the_end_of_the_page(void)
{
	char *p = map_pages(2);
	char seen[20];
	struct target t;

	REQUIRE(p);
	t = spawn(fill_two_pages, p);	/* writable in the target: no copy-on-write */
	REQUIRE(t.pid > 0);
	EXPECT_EQ(sys_far(FAR_WRITE, "0123456789abcdefghij", t.pid,
			  (unsigned long)p + PAGE - 10, 20), 10);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + PAGE - 10, seen, 20), 20);
	reap(&t);
	EXPECT_MEM(seen, "0123456789aaaaaaaaaa", 20);
	return 0;
}

static int p1_untouched_page_is_efault(void)
{
	char *p = map_pages(1);
	char buf[8];
	struct target t;

	REQUIRE(p);
	EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)p, 8), EFAULT);
	EXPECT_ERR(sys_far(FAR_WRITE, buf, getpid(), (unsigned long)p, 8), EFAULT);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_ERR(sys_far(FAR_READ, buf, t.pid, (unsigned long)p + 8, 8), EFAULT);
	reap(&t);
	return 0;
}

static int p1_write_to_string_literal_is_efault(void)
{
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	REQUIRE(t.pid > 0);
	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", t.pid, (unsigned long)literal, 3), EFAULT);
	EXPECT_EQ(peek(t.pid, (unsigned long)literal, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	return 0;
}

static int p1_write_to_read_only_mapping_is_efault(void)
{
	char *p = map_pages(1);

	REQUIRE(p);
	strcpy(p, SECRET);
	REQUIRE(mprotect(p, PAGE, PROT_READ) == 0);
	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", getpid(), (unsigned long)p, 3), EFAULT);
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	/* Reading it is fine. */
	EXPECT_EQ(sys_far(FAR_READ, (char[4]){ 0 }, getpid(), (unsigned long)p, 3), 3);
	return 0;
}

/* An anonymous page written before fork(): parent and child then share it read-only. */
static char *cow_page(void)
{
	char *p = map_pages(1);

	if (p)
		strcpy(p, SECRET);
	return p;
}

static int p1_does_not_break_copy_on_write(void)
{
	char *p = cow_page();
	struct target t;
	char seen[sizeof(SECRET)];

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", t.pid, (unsigned long)p, 3), EFAULT);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	return 0;
}

/* ---- cases: Part 2 and Part 3 (GUP) ---- */

static int gup_reads_across_pages(void)
{
	char *p = map_pages(4);
	char *want = malloc(3 * PAGE), *buf = malloc(3 * PAGE);
	struct target t;
	size_t i;

	REQUIRE(p && want && buf);
	for (i = 0; i < 3 * PAGE; i++)
		want[i] = (char)(i * 7 + 1);
	memcpy(p + 123, want, 3 * PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 123, 3 * PAGE), 3 * PAGE);
	reap(&t);
	EXPECT_MEM(buf, want, 3 * PAGE);
	return 0;
}

static int gup_writes_across_pages(void)
{
	char *p = map_pages(3);
	char *src = malloc(2 * PAGE), *seen = malloc(2 * PAGE + 2);
	struct target t;

	REQUIRE(p && src && seen);
	t = spawn(touch_pages, p);	/* 'x' in the target only */
	REQUIRE(t.pid > 0);
	memset(src, 'W', 2 * PAGE);
	EXPECT_EQ(far(FAR_WRITE, src, t.pid, (unsigned long)p + 1000, 2 * PAGE), 2 * PAGE);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + 999, seen, 2 * PAGE + 2), 2 * PAGE + 2);
	reap(&t);
	EXPECT_EQ(seen[0], 'x');
	EXPECT_MEM(seen + 1, src, 2 * PAGE);
	EXPECT_EQ(seen[2 * PAGE + 1], 'x');
	return 0;
}

static int gup_faults_in_untouched_pages(void)
{
	char *p = map_pages(2);
	static char buf[2 * PAGE], zeros[2 * PAGE];
	struct target t;

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	memset(buf, 0x55, sizeof(buf));
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, sizeof(buf)), sizeof(buf));
	reap(&t);
	EXPECT_MEM(buf, zeros, sizeof(buf));
	return 0;
}

static int gup_writes_untouched_pages(void)
{
	char *p = map_pages(2);
	char seen[8];
	struct target t;

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "new page", t.pid, (unsigned long)p + PAGE - 4, 8), 8);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + PAGE - 4, seen, 8), 8);
	reap(&t);
	EXPECT_MEM(seen, "new page", 8);
	return 0;
}

static int gup_writes_a_string_literal(void)
{
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "HEY", t.pid, (unsigned long)literal, 3), 3);
	EXPECT_EQ(peek(t.pid, (unsigned long)literal, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "HEY this is private!", sizeof(SECRET));
	/* The write went into the target's private copy, not the shared file page. */
	EXPECT_MEM(literal, SECRET, sizeof(SECRET));
	return 0;
}

static int gup_writes_a_read_only_private_mapping(void)
{
	char *p = map_pages(1);

	REQUIRE(p);
	strcpy(p, SECRET);
	REQUIRE(mprotect(p, PAGE, PROT_READ) == 0);
	EXPECT_EQ(far(FAR_WRITE, "HEY", getpid(), (unsigned long)p, 3), 3);
	EXPECT_MEM(p, "HEY this is private!", sizeof(SECRET));
	return 0;
}

static int gup_cannot_write_a_read_only_shared_file_mapping(void)
{
	char path[] = "/tmp/farfetch_tests.XXXXXX", seen[sizeof(SECRET)];
	int fd = mkstemp(path);
	char *p;

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, SECRET, sizeof(SECRET)) == sizeof(SECRET));
	close(fd);
	fd = open(path, O_RDONLY);
	unlink(path);
	REQUIRE(fd >= 0);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(p != MAP_FAILED);
	/* Not copy-on-write and opened read-only: as ptrace, no write (GUP's check_vma_flags). */
	EXPECT_ERR(far(FAR_WRITE, "HEY", getpid(), (unsigned long)p, 3), EFAULT);
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	REQUIRE(pread(fd, seen, sizeof(SECRET), 0) == sizeof(SECRET));
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	EXPECT_EQ(far(FAR_READ, seen, getpid(), (unsigned long)p, 3), 3);
	return 0;
}

static int gup_breaks_copy_on_write_after_fork(void)
{
	char *p = cow_page();
	struct target t;
	char seen[sizeof(SECRET)];

	REQUIRE(p);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_WRITE, "COW", t.pid, (unsigned long)p, 3), 3);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "COW this is private!", sizeof(SECRET));
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	return 0;
}

static int gup_partial_copy_stops_at_a_hole(void)
{
	char *p = map_pages(2);
	static char buf[2 * PAGE], seen[PAGE];
	struct target t;

	REQUIRE(p);
	memset(p, 'a', PAGE);
	munmap(p + PAGE, PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 96, 2 * PAGE), PAGE - 96);
	EXPECT_MEM(buf, p + 96, PAGE - 96);
	memset(buf, 'b', sizeof(buf));
	EXPECT_EQ(far(FAR_WRITE, buf, t.pid, (unsigned long)p + 96, 2 * PAGE), PAGE - 96);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, PAGE), PAGE);
	/* The first page is the hole: its error. */
	EXPECT_ERR(far(FAR_READ, buf, t.pid, (unsigned long)p + PAGE, 16), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, buf, t.pid, (unsigned long)p + PAGE, 16), EFAULT);
	reap(&t);
	EXPECT_MEM(seen, p, 96);
	EXPECT_MEM(seen + 96, buf, PAGE - 96);
	return 0;
}

static int gup_bad_caller_buffer_midway_returns_bytes_copied(void)
{
	char *src = map_pages(2), *buf = map_pages(2);
	struct target t;

	REQUIRE(src && buf);
	memset(src, 's', 2 * PAGE);
	memset(buf, 'b', PAGE);
	munmap(buf + PAGE, PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	/* The caller's second page is gone: the first page is copied, and counted. */
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)src, 2 * PAGE), PAGE);
	EXPECT_MEM(buf, src, PAGE);
	reap(&t);
	return 0;
}

/* ---- cases: Part 3, the device ---- */

static int open_device(void)
{
	int fd = open(DEVICE, O_RDWR);

	if (fd < 0)
		fail("setup failed: open(%s): %s", DEVICE, strerror(errno));
	return fd;
}

static int p3_read_and_write_without_pid_are_esrch(void)
{
	int fd = open_device();
	char buf[8];

	if (fd < 0)
		return -1;
	EXPECT_ERR(res(read(fd, buf, 8)), ESRCH);
	EXPECT_ERR(res(write(fd, buf, 8)), ESRCH);
	EXPECT_EQ(lseek(fd, (off_t)(unsigned long)data_page, SEEK_SET),
		  (off_t)(unsigned long)data_page);
	EXPECT_ERR(res(read(fd, buf, 8)), ESRCH);
	close(fd);
	return 0;
}

static int p3_ioctl_bad_pointer_is_efault(void)
{
	int fd = open_device();
	char *gone = map_pages(1);

	if (fd < 0)
		return -1;
	REQUIRE(gone);
	munmap(gone, PAGE);
	EXPECT_ERR(res(ioctl(fd, 0, (void *)8)), EFAULT);
	EXPECT_ERR(res(ioctl(fd, 0, gone)), EFAULT);
	EXPECT_ERR(res(ioctl(fd, 0, ~0UL - 2)), EFAULT);
	close(fd);
	return 0;
}

static int p3_ioctl_no_such_pid_is_esrch(void)
{
	int fd = open_device();
	pid_t nobody = dead_pid(), minus_one = -1;

	if (fd < 0)
		return -1;
	EXPECT_ERR(res(ioctl(fd, 0, &nobody)), ESRCH);
	EXPECT_ERR(res(ioctl(fd, 0, &minus_one)), ESRCH);
	close(fd);
	return 0;
}

static int p3_ioctl_request_number_is_ignored(void)
{
	int fd = open_device();
	pid_t self = getpid();

	if (fd < 0)
		return -1;
	EXPECT_EQ(res(ioctl(fd, 0xdeadbeef, &self)), 0);
	EXPECT_EQ(res(ioctl(fd, _IOW('f', 1, pid_t), &self)), 0);
	EXPECT_EQ(res(ioctl(fd, _IOR('f', 2, pid_t), &self)), 0);
	close(fd);
	return 0;
}

static int p3_position_is_the_address_and_advances(void)
{
	char *p = map_pages(1);
	struct target t;
	int fd = open_device();
	char buf[sizeof(SECRET)] = "", seen[8];

	if (fd < 0)
		return -1;
	REQUIRE(p);
	t = spawn(write_secret, p + 8);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(res(ioctl(fd, 0, &t.pid)), 0);
	EXPECT_EQ(lseek(fd, (off_t)(unsigned long)p + 8, SEEK_SET), (off_t)(unsigned long)p + 8);
	EXPECT_EQ(read(fd, buf, 4), 4);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p + 12);
	EXPECT_EQ(read(fd, buf + 4, sizeof(SECRET) - 4), sizeof(SECRET) - 4);
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	EXPECT_EQ(lseek(fd, (off_t)(unsigned long)p, SEEK_SET), (off_t)(unsigned long)p);
	EXPECT_EQ(write(fd, "ABCD", 4), 4);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p + 4);
	EXPECT_EQ(write(fd, "EFGH", 4), 4);
	EXPECT_EQ(lseek(fd, -8, SEEK_CUR), (off_t)(unsigned long)p);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, 8), 8);
	EXPECT_MEM(seen, "ABCDEFGH", 8);
	EXPECT_EQ(read(fd, buf, 0), 0);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p);
	/* pread/pwrite: the same, at an explicit position. */
	EXPECT_EQ(pread(fd, buf, 4, (off_t)(unsigned long)p + 8), 4);
	EXPECT_MEM(buf, "Hey ", 4);
	close(fd);
	reap(&t);
	return 0;
}

static int p3_position_advances_by_partial_count_only(void)
{
	char *p = map_pages(2);
	static char buf[2 * PAGE];
	struct target t;
	int fd = open_device();

	if (fd < 0)
		return -1;
	REQUIRE(p);
	munmap(p + PAGE, PAGE);
	t = spawn(NULL, NULL);
	REQUIRE(t.pid > 0);
	EXPECT_EQ(res(ioctl(fd, 0, &t.pid)), 0);
	EXPECT_EQ(lseek(fd, (off_t)(unsigned long)p + 96, SEEK_SET), (off_t)(unsigned long)p + 96);
	EXPECT_EQ(res(read(fd, buf, sizeof(buf))), PAGE - 96);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p + PAGE);
	/* At the hole: an error, and the position stays. */
	EXPECT_ERR(res(read(fd, buf, sizeof(buf))), EFAULT);
	EXPECT_ERR(res(write(fd, buf, sizeof(buf))), EFAULT);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p + PAGE);
	close(fd);
	reap(&t);
	return 0;
}

static int p3_two_open_files_keep_their_own_pid(void)
{
	char *p = map_pages(1);
	struct target a, b;
	int fa = open_device(), fb = open_device();
	char ba[8] = "", bb[8] = "";

	if (fa < 0 || fb < 0)
		return -1;
	REQUIRE(p);
	a = spawn(write_secret, p);
	strcpy(p, "bbbbbbb");
	b = spawn(NULL, NULL);
	REQUIRE(a.pid > 0 && b.pid > 0);
	EXPECT_EQ(res(ioctl(fa, 0, &a.pid)), 0);
	EXPECT_EQ(res(ioctl(fb, 0, &b.pid)), 0);
	EXPECT_EQ(pread(fa, ba, 7, (off_t)(unsigned long)p), 7);
	EXPECT_EQ(pread(fb, bb, 7, (off_t)(unsigned long)p), 7);
	EXPECT_MEM(ba, "Hey thi", 7);
	EXPECT_MEM(bb, "bbbbbbb", 7);
	/* A write through one file lands in its own target only. */
	EXPECT_EQ(pwrite(fa, "AAA", 3, (off_t)(unsigned long)p), 3);
	EXPECT_EQ(pread(fb, bb, 7, (off_t)(unsigned long)p), 7);
	EXPECT_MEM(bb, "bbbbbbb", 7);
	EXPECT_EQ(peek(a.pid, (unsigned long)p, ba, 7), 7);
	EXPECT_MEM(ba, "AAA thi", 7);
	close(fa);
	close(fb);
	reap(&a);
	reap(&b);
	return 0;
}

static long student_device_rw(void *arg)
{
	struct target *t = arg;
	char buf[sizeof(SECRET)];
	int fd = open(DEVICE, O_RDWR);
	long n;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, 0, &t->pid) < 0)
		return -errno;
	n = pread(fd, buf, sizeof(SECRET), (off_t)(unsigned long)data_page);
	if (n != sizeof(SECRET))
		return n < 0 ? -errno : -EBADMSG;
	if (memcmp(buf, SECRET, sizeof(SECRET)))
		return -EBADMSG;
	n = pwrite(fd, "Student", 7, (off_t)(unsigned long)data_page);
	return n < 0 ? -errno : n;
}

static int p3_has_no_root_check(void)
{
	/* A root-owned target, read and written by uid 1000 through the 0666 node. */
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];
	long ret;

	REQUIRE(t.pid > 0);
	ret = as_student(student_device_rw, &t);
	EXPECT_EQ(peek(t.pid, (unsigned long)data_page, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_EQ(ret, 7);
	EXPECT_MEM(seen, "Students is private!", sizeof(SECRET));
	return 0;
}

static int p3_kernel_thread_read_is_esrch(void)
{
	int fd = open_device();
	pid_t kthreadd = 2;
	char buf[8];

	if (fd < 0)
		return -1;
	/* kthreadd exists, so ioctl() takes it; it has no mm, so read() fails. */
	EXPECT_EQ(res(ioctl(fd, 0, &kthreadd)), 0);
	EXPECT_ERR(res(pread(fd, buf, 8, (off_t)(unsigned long)data_page)), ESRCH);
	EXPECT_ERR(res(pwrite(fd, buf, 8, (off_t)(unsigned long)data_page)), ESRCH);
	close(fd);
	return 0;
}

static int p3_target_gone_after_ioctl_is_esrch(void)
{
	struct target t = spawn(NULL, NULL);
	int fd = open_device();
	char buf[8];

	if (fd < 0)
		return -1;
	REQUIRE(t.pid > 0);
	EXPECT_EQ(res(ioctl(fd, 0, &t.pid)), 0);
	EXPECT_EQ(res(pread(fd, buf, 8, (off_t)(unsigned long)data_page)), 8);
	reap(&t);
	EXPECT_ERR(res(pread(fd, buf, 8, (off_t)(unsigned long)data_page)), ESRCH);
	close(fd);
	return 0;
}

static int p3_leftover_node_after_rmmod_is_enxio(void)
{
	EXPECT_ERR(res(open(DEVICE, O_RDWR)), ENXIO);
	EXPECT_ERR(res(open(DEVICE, O_RDONLY)), ENXIO);
	return 0;
}

/* ---- the runner ---- */

static const struct test_case cases[] = {
	CASE(none_read_is_enosys, M_NONE),
	CASE(none_write_is_enosys, M_NONE),
	CASE(none_bad_cmd_is_enosys, M_NONE),
	CASE(none_zero_len_is_enosys, M_NONE),
	CASE(none_no_such_pid_is_enosys, M_NONE),
	CASE(none_non_root_is_enosys, M_NONE),
	CASE(bad_cmd_is_einval, M_SYSCALL),
	CASE(bad_cmd_checked_before_len, M_SYSCALL),
	CASE(zero_len_returns_zero_before_other_checks, M_SYSCALL),
	CASE(non_root_is_eperm, M_SYSCALL),
	CASE(non_root_target_is_still_eperm, M_SYSCALL),
	CASE(bad_cmd_checked_before_eperm, M_SYSCALL),
	CASE(zero_len_checked_before_eperm, M_SYSCALL),
	CASE(eperm_checked_before_esrch, M_SYSCALL),
	CASE(no_such_pid_is_esrch, M_SYSCALL),
	CASE(kernel_thread_is_esrch, M_SYSCALL),
	CASE(esrch_checked_before_efault, M_SYSCALL),
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
	CASE(p1_copies_only_to_the_end_of_the_page, M_P1),
	CASE(p1_writes_only_to_the_end_of_the_page, M_P1),
	CASE(p1_untouched_page_is_efault, M_P1),
	CASE(p1_write_to_string_literal_is_efault, M_P1),
	CASE(p1_write_to_read_only_mapping_is_efault, M_P1),
	CASE(p1_does_not_break_copy_on_write, M_P1),
	CASE(gup_reads_across_pages, M_GUP),
	CASE(gup_writes_across_pages, M_GUP),
	CASE(gup_faults_in_untouched_pages, M_GUP),
	CASE(gup_writes_untouched_pages, M_GUP),
	CASE(gup_writes_a_string_literal, M_GUP),
	CASE(gup_writes_a_read_only_private_mapping, M_GUP),
	CASE(gup_cannot_write_a_read_only_shared_file_mapping, M_GUP),
	CASE(gup_breaks_copy_on_write_after_fork, M_GUP),
	CASE(gup_partial_copy_stops_at_a_hole, M_GUP),
	CASE(gup_bad_caller_buffer_midway_returns_bytes_copied, M_GUP),
	CASE(p3_read_and_write_without_pid_are_esrch, M_P3),
	CASE(p3_ioctl_bad_pointer_is_efault, M_P3),
	CASE(p3_ioctl_no_such_pid_is_esrch, M_P3),
	CASE(p3_ioctl_request_number_is_ignored, M_P3),
	CASE(p3_position_is_the_address_and_advances, M_P3),
	CASE(p3_position_advances_by_partial_count_only, M_P3),
	CASE(p3_two_open_files_keep_their_own_pid, M_P3),
	CASE(p3_has_no_root_check, M_P3),
	CASE(p3_kernel_thread_read_is_esrch, M_P3),
	CASE(p3_target_gone_after_ioctl_is_esrch, M_P3),
	CASE(p3_leftover_node_after_rmmod_is_enxio, M_P3_UNLOADED),
};

static const size_t nr_cases = sizeof(cases) / sizeof(cases[0]);

/* Every case of the suite, in the order they run. */
static const struct {
	const struct test_case *cases;
	const size_t *n;
} tables[] = {
	{ cases, &nr_cases },
	{ hook_cases, &nr_hook_cases },
	{ memory_cases, &nr_memory_cases },
	{ p3_cases, &nr_p3_cases },
};

#define NR_TABLES (sizeof(tables) / sizeof(tables[0]))

/* The @i-th case over all tables, or NULL past the last. */
static const struct test_case *nth_case(size_t i)
{
	size_t t;

	for (t = 0; t < NR_TABLES; i -= *tables[t].n, t++)
		if (i < *tables[t].n)
			return &tables[t].cases[i];
	return NULL;
}

/*
 * Runs one case in a child of its own and fills @why if it failed or was
 * skipped. The child sends its failure message (empty: passed; "# SKIP ...":
 * skipped) through a pipe. Returns 0 (passed), 1 (skipped) or -1 (failed).
 */
static int run_case(const struct test_case *c, char *why, size_t size)
{
	int p[2], status;
	ssize_t got = 0, n;
	pid_t child;

	why[0] = '\0';
	if (pipe(p))
		return snprintf(why, size, "setup failed: pipe: %s", strerror(errno)), -1;
	fflush(stdout);
	child = fork();
	if (child < 0)
		return snprintf(why, size, "setup failed: fork: %s", strerror(errno)), -1;
	if (child == 0) {
		int ret;

		close(p[0]);
		alarm(TIMEOUT);
		failure[0] = '\0';
		ret = c->fn();
		if (ret && !failure[0])
			fail("the case failed without saying why");
		if (write(p[1], failure, strlen(failure)) < 0)
			_exit(3);
		_exit(failure[0] && strncmp(failure, "# SKIP", 6) ? 1 : 0);
	}
	close(p[1]);
	while (got < (ssize_t)size - 1 && (n = read(p[0], why + got, size - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += n;
	}
	why[got] = '\0';
	close(p[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		size_t len = strlen(why);

		snprintf(why + len, size - len, "%sexpected the case to finish, got %s%s",
			 len ? "; " : "", sig == SIGALRM ? "no end within the time limit, " : "",
			 sigdescr_np(sig) ? sigdescr_np(sig) : "a signal");
		return -1;
	}
	if (WEXITSTATUS(status) != 0 && !why[0])
		snprintf(why, size, "expected the case to exit 0, got %d", WEXITSTATUS(status));
	if (WEXITSTATUS(status) == 0 && !strncmp(why, "# SKIP", 6))
		return 1;
	return why[0] ? -1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: farfetch_tests --module none|p1|p2|p3 [--unloaded] [--case NAME]\n"
		"  none      no module loaded: every call is -ENOSYS\n"
		"  p1, p2    farfetch_p1 / farfetch_p2 loaded: system call 505\n"
		"  p3        farfetch_p3 loaded, /dev/farfetch made (mknod -m 0666)\n"
		"  --unloaded  with p3: only the ENXIO check, after rmmod farfetch_p3\n"
		"  --case NAME run only that case\n"
		"Output: TAP, then \"N passed, N failed\". Run as root.\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *name = NULL, *only = NULL;
	int passed = 0, failed = 0, unloaded = 0, n = 0, planned = 0, result;
	const struct test_case *c;
	unsigned long top;
	unsigned int i;
	char why[sizeof(failure) + 128];

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--module") && i + 1 < (unsigned int)argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--case") && i + 1 < (unsigned int)argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--unloaded"))
			unloaded = 1;
		else
			return usage();
	}
	if (!name)
		return usage();
	module = !strcmp(name, "none") ? M_NONE : !strcmp(name, "p1") ? M_P1 :
		 !strcmp(name, "p2") ? M_P2 : !strcmp(name, "p3") ? M_P3 : 0;
	if (!module || (unloaded && module != M_P3))
		return usage();
	if (unloaded)
		module = M_P3_UNLOADED;
	if (geteuid() != 0) {
		fprintf(stderr, "farfetch_tests: run as root\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; (c = nth_case(i)); i++)
		planned += (c->modules & module) && (!only || !strcmp(only, c->name));
	if (!planned) {
		fprintf(stderr, "farfetch_tests: no case %s for --module %s\n", only ? only : "",
			name);
		return 2;
	}
	printf("1..%d\n", planned);
	top = task_size();
	printf("# farfetch_tests --module %s%s: pid %d, TASK_SIZE_OF 0x%lx (%s paging)\n", name,
	       unloaded ? " --unloaded" : "", (int)getpid(), top,
	       top == (1UL << 56) - PAGE ? "5-level" : top == (1UL << 47) - PAGE ? "4-level" :
									       "unknown");
	for (i = 0; (c = nth_case(i)); i++) {
		if (!(c->modules & module) || (only && strcmp(only, c->name)))
			continue;
		result = run_case(c, why, sizeof(why));
		if (result >= 0) {
			/* A skipped case is "ok" in TAP, with its reason. */
			printf("ok %d - %s%s%s\n", ++n, c->name, result ? " " : "", result ? why : "");
			passed++;
		} else {
			printf("not ok %d - %s # %s\n", ++n, c->name, why);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
