// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_tests: the in-guest test suite of Farfetch'd, one named case per
 * behaviour of the spec, each with its exact expected result or errno.
 *
 *   farfetch_tests --module none|p1|p2|p3 [--unloaded]
 *
 * none, p1 and p2 go through farfetch(2) (system call 505); p3 through
 * /dev/farfetch, which the caller has created (mknod -m 0666). --unloaded
 * checks that a leftover /dev/farfetch fails with ENXIO after rmmod.
 * Targets are child processes forked by the suite itself; their memory is
 * checked independently with process_vm_readv(2). Output is TAP, then one
 * line "N passed, N failed"; the exit status is 0 only if nothing failed.
 * Run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#if __has_include(<linux/farfetch.h>)
#include <linux/farfetch.h>
#else
enum farfetch_cmd { FAR_READ = 0, FAR_WRITE = 1 };
#endif

#ifndef __NR_farfetch
#define __NR_farfetch 505
#endif

#define PAGE 4096UL
#define SECRET "Hey this is private!"
#define DEVICE "/dev/farfetch"

enum module { M_NONE = 1, M_P1 = 2, M_P2 = 4, M_P3 = 8 };
#define M_SYSCALL (M_P1 | M_P2)
#define M_GUP (M_P2 | M_P3)
#define M_ANY (M_P1 | M_P2 | M_P3)

static enum module module;
static char failure[512];
static const char *const literal = SECRET;	/* in .rodata: read-only */
static char data_page[PAGE] __attribute__((aligned(4096))) = SECRET;

/* Records the first failed expectation of the running case. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	if (!failure[0]) {
		va_start(ap, fmt);
		vsnprintf(failure, sizeof(failure), fmt, ap);
		va_end(ap);
	}
	return -1;
}

#define EXPECT_EQ(got, want) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (g_ != w_)							\
		return fail("%s: expected %lld, got %lld (line %d)",	\
			    #got, w_, g_, __LINE__);			\
} while (0)

#define EXPECT_ERR(got, err) do {					\
	long long g_ = (long long)(got);				\
	if (g_ != -(err))						\
		return fail("%s: expected -%s, got %lld%s%s (line %d)",	\
			    #got, #err, g_, g_ < 0 ? " = -" : "",	\
			    g_ < 0 ? strerrorname_np((int)-g_) : "",	\
			    __LINE__);					\
} while (0)

#define EXPECT_MEM(got, want, n) do {					\
	if (memcmp((got), (want), (n)))					\
		return fail("%s differs from %s (line %d)", #got, #want, __LINE__); \
} while (0)

/* ---- the interface under test: farfetch(2), or /dev/farfetch for p3 ---- */

static long sys_far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
{
	long n = syscall(__NR_farfetch, cmd, buf, pid, addr, len);

	return n < 0 ? -errno : n;
}

static long dev_far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
{
	int fd = open(DEVICE, O_RDWR);
	long n;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, 0, &pid) < 0 || lseek(fd, (off_t)addr, SEEK_SET) == (off_t)-1) {
		n = -errno;
		close(fd);
		return n;
	}
	n = cmd == FAR_WRITE ? write(fd, buf, len) : read(fd, buf, len);
	n = n < 0 ? -errno : n;
	close(fd);
	return n;
}

/* FAR_READ / FAR_WRITE through whichever interface the module has. */
static long far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
{
	return module == M_P3 ? dev_far(cmd, buf, pid, addr, len) :
				sys_far(cmd, buf, pid, addr, len);
}

/* ---- targets ---- */

struct target {
	pid_t pid;
	int hold;	/* the child lives until this pipe closes */
};

/* Forks a target that runs @setup(@arg) and then waits. */
static struct target spawn(void (*setup)(void *), void *arg)
{
	struct target t = { -1, -1 };
	int ready[2], hold[2];
	char c;

	if (pipe(ready) || pipe(hold))
		return t;
	t.pid = fork();
	if (t.pid == 0) {
		int fd;

		/* Other targets' hold pipes must not be kept open by this one. */
		for (fd = 3; fd < 1024; fd++)
			if (fd != ready[1] && fd != hold[0])
				close(fd);
		if (setup)
			setup(arg);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	if (read(ready[0], &c, 1) != 1)
		t.pid = -1;
	close(ready[0]);
	t.hold = hold[1];
	return t;
}

static void reap(struct target *t)
{
	if (t->pid > 0) {
		close(t->hold);
		waitpid(t->pid, NULL, 0);
	}
}

/* The target's memory as it really is (the independent oracle). */
static long peek(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	long n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	return n < 0 ? -errno : n;
}

static void write_secret(void *p)
{
	strcpy(p, SECRET);
}

static void touch_pages(void *p)
{
	memset(p, 'x', 3 * PAGE);
}

/* Runs @fn in a child as uid 1000 and returns what it returned (as an errno-style long). */
static long as_student(long (*fn)(void *), void *arg)
{
	int status;
	pid_t child = fork();

	if (child == 0) {
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(255);
		_exit((int)-fn(arg));
	}
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? -(long)WEXITSTATUS(status) : -255;
}

/* A pid with no process: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	return child;
}

/* The first address above user space: 2^56 - 4096 with 5-level paging, else 2^47 - 4096. */
static unsigned long task_size(void)
{
	void *high = mmap((void *)(1UL << 52), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int la57 = high != MAP_FAILED && (unsigned long)high >= (1UL << 47);

	if (high != MAP_FAILED)
		munmap(high, PAGE);
	return la57 ? (1UL << 56) - PAGE : (1UL << 47) - PAGE;
}

/* ---- cases: no module ---- */

static int none_read_is_enosys(void)
{
	char buf[8];

	EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)data_page, 8), ENOSYS);
	return 0;
}

static int none_write_is_enosys(void)
{
	EXPECT_ERR(sys_far(FAR_WRITE, data_page, getpid(), (unsigned long)data_page, 8), ENOSYS);
	return 0;
}

static int none_bad_cmd_is_enosys(void)
{
	EXPECT_ERR(sys_far(7, NULL, 0, 0, 0), ENOSYS);
	return 0;
}

/* ---- cases: argument checks, in the spec's order ---- */

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
	EXPECT_EQ(sys_far(FAR_READ, NULL, dead_pid(), ~0UL, 0), 0);
	return 0;
}

static long student_read(void *arg)
{
	char buf[8];

	return sys_far(FAR_READ, buf, *(pid_t *)arg, (unsigned long)data_page, 8);
}

static int non_root_is_eperm(void)
{
	pid_t self = getpid();

	EXPECT_ERR(as_student(student_read, &self), EPERM);
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

	EXPECT_ERR(far(FAR_READ, buf, dead_pid(), (unsigned long)data_page, 8), ESRCH);
	return 0;
}

static int kernel_thread_is_esrch(void)
{
	char buf[8];

	/* pid 2 is kthreadd: a task with no mm. */
	EXPECT_ERR(far(FAR_READ, buf, 2, (unsigned long)data_page, 8), ESRCH);
	return 0;
}

static int address_at_task_size_is_efault(void)
{
	char buf[8];

	EXPECT_ERR(far(FAR_READ, buf, getpid(), task_size(), 8), EFAULT);
	/*
	 * Far above: lseek() to within 4095 of 2^64 returns a value glibc takes
	 * for an error, so the device is asked at 2^63.
	 */
	EXPECT_ERR(far(FAR_READ, buf, getpid(), module == M_P3 ? 1UL << 63 : ~0UL - 7, 8), EFAULT);
	return 0;
}

static int unmapped_address_is_efault(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[8];

	munmap(p, PAGE);
	EXPECT_ERR(far(FAR_READ, buf, getpid(), (unsigned long)p, 8), EFAULT);
	return 0;
}

static int bad_caller_buffer_is_efault(void)
{
	EXPECT_ERR(far(FAR_READ, (void *)8, getpid(), (unsigned long)data_page, 8), EFAULT);
	EXPECT_ERR(far(FAR_WRITE, (void *)8, getpid(), (unsigned long)data_page, 8), EFAULT);
	EXPECT_MEM(data_page, SECRET, sizeof(SECRET));
	return 0;
}

/* ---- cases: reading and writing ---- */

static int read_from_another_process(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct target t = spawn(write_secret, p + 100);
	char buf[sizeof(SECRET)] = "";

	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 100, sizeof(SECRET)), sizeof(SECRET));
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
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct target t = spawn(write_secret, p);
	char seen[6] = "";

	EXPECT_EQ(far(FAR_WRITE, "Howdy", t.pid, (unsigned long)p, 5), 5);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, 5), 5);
	reap(&t);
	EXPECT_MEM(seen, "Howdy", 5);
	return 0;
}

static int high_address_above_47_bits(void)
{
	char *p = mmap((void *)(1UL << 52), PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[sizeof(SECRET)] = "";

	if (p == MAP_FAILED || (unsigned long)p < (1UL << 47))
		return fail("no mapping above 2^47: is 5-level paging active? (got %p)", p);
	strcpy(p, SECRET);
	EXPECT_EQ(far(FAR_READ, buf, getpid(), (unsigned long)p, sizeof(SECRET)), sizeof(SECRET));
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	munmap(p, PAGE);
	return 0;
}

/* ---- cases: Part 1 only (no GUP) ---- */

static int p1_copies_only_to_the_end_of_the_page(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[100];

	memset(p, 'a', 2 * PAGE);
	EXPECT_EQ(sys_far(FAR_READ, buf, getpid(), (unsigned long)p + PAGE - 10, 100), 10);
	EXPECT_MEM(buf, "aaaaaaaaaa", 10);
	return 0;
}

static int p1_untouched_page_is_efault(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[8];

	EXPECT_ERR(sys_far(FAR_READ, buf, getpid(), (unsigned long)p, 8), EFAULT);
	return 0;
}

static int p1_write_to_string_literal_is_efault(void)
{
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", t.pid, (unsigned long)literal, 3), EFAULT);
	EXPECT_EQ(peek(t.pid, (unsigned long)literal, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	return 0;
}

/* An anonymous page written before fork(): parent and child then share it read-only. */
static char *cow_page(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	strcpy(p, SECRET);
	return p;
}

static int p1_does_not_break_copy_on_write(void)
{
	char *p = cow_page();
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	EXPECT_ERR(sys_far(FAR_WRITE, "HEY", t.pid, (unsigned long)p, 3), EFAULT);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, SECRET, sizeof(SECRET));
	return 0;
}

/* ---- cases: Part 2 and Part 3 (GUP) ---- */

static int gup_reads_across_pages(void)
{
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *want = malloc(3 * PAGE), *buf = malloc(3 * PAGE);
	struct target t;
	size_t i;

	for (i = 0; i < 3 * PAGE; i++)
		want[i] = (char)(i * 7 + 1);
	memcpy(p + 123, want, 3 * PAGE);
	t = spawn(NULL, NULL);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 123, 3 * PAGE), 3 * PAGE);
	reap(&t);
	EXPECT_MEM(buf, want, 3 * PAGE);
	return 0;
}

static int gup_writes_across_pages(void)
{
	char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *src = malloc(2 * PAGE), *seen = malloc(2 * PAGE);
	struct target t = spawn(touch_pages, p);

	memset(src, 'W', 2 * PAGE);
	EXPECT_EQ(far(FAR_WRITE, src, t.pid, (unsigned long)p + 1000, 2 * PAGE), 2 * PAGE);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + 1000, seen, 2 * PAGE), 2 * PAGE);
	EXPECT_EQ(peek(t.pid, (unsigned long)p + 999, src, 1), 1);
	reap(&t);
	EXPECT_MEM(seen, memset(malloc(2 * PAGE), 'W', 2 * PAGE), 2 * PAGE);
	EXPECT_EQ(src[0], 'x');
	return 0;
}

static int gup_faults_in_untouched_pages(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[2 * PAGE], zeros[2 * PAGE] = { 0 };
	struct target t = spawn(NULL, NULL);

	memset(buf, 0x55, sizeof(buf));
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p, sizeof(buf)), sizeof(buf));
	reap(&t);
	EXPECT_MEM(buf, zeros, sizeof(buf));
	return 0;
}

static int gup_writes_a_string_literal(void)
{
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	EXPECT_EQ(far(FAR_WRITE, "HEY", t.pid, (unsigned long)literal, 3), 3);
	EXPECT_EQ(peek(t.pid, (unsigned long)literal, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "HEY this is private!", sizeof(SECRET));
	/* The write went into the target's private copy, not the shared file page. */
	EXPECT_MEM(literal, SECRET, sizeof(SECRET));
	return 0;
}

static int gup_breaks_copy_on_write_after_fork(void)
{
	char *p = cow_page();
	struct target t = spawn(NULL, NULL);
	char seen[sizeof(SECRET)];

	EXPECT_EQ(far(FAR_WRITE, "COW", t.pid, (unsigned long)p, 3), 3);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, sizeof(SECRET)), sizeof(SECRET));
	reap(&t);
	EXPECT_MEM(seen, "COW this is private!", sizeof(SECRET));
	EXPECT_MEM(p, SECRET, sizeof(SECRET));
	return 0;
}

static int gup_partial_copy_stops_at_a_hole(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[2 * PAGE];
	struct target t;

	munmap(p + PAGE, PAGE);
	t = spawn(NULL, NULL);
	EXPECT_EQ(far(FAR_READ, buf, t.pid, (unsigned long)p + 96, 2 * PAGE), PAGE - 96);
	EXPECT_EQ(far(FAR_WRITE, buf, t.pid, (unsigned long)p + 96, 2 * PAGE), PAGE - 96);
	EXPECT_ERR(far(FAR_READ, buf, t.pid, (unsigned long)p + PAGE, 16), EFAULT);
	reap(&t);
	return 0;
}

/* ---- cases: Part 3, the device ---- */

static int open_device(void)
{
	int fd = open(DEVICE, O_RDWR);

	if (fd < 0)
		fail("open(%s): %s", DEVICE, strerror(errno));
	return fd;
}

static int p3_read_and_write_without_pid_are_esrch(void)
{
	int fd = open_device();
	char buf[8];

	if (fd < 0)
		return -1;
	EXPECT_ERR(read(fd, buf, 8) < 0 ? -errno : 0, ESRCH);
	EXPECT_ERR(write(fd, buf, 8) < 0 ? -errno : 0, ESRCH);
	close(fd);
	return 0;
}

static int p3_ioctl_bad_pointer_is_efault(void)
{
	int fd = open_device();

	if (fd < 0)
		return -1;
	EXPECT_ERR(ioctl(fd, 0, (void *)8) < 0 ? -errno : 0, EFAULT);
	close(fd);
	return 0;
}

static int p3_ioctl_no_such_pid_is_esrch(void)
{
	int fd = open_device();
	pid_t nobody = dead_pid();

	if (fd < 0)
		return -1;
	EXPECT_ERR(ioctl(fd, 0, &nobody) < 0 ? -errno : 0, ESRCH);
	close(fd);
	return 0;
}

static int p3_ioctl_request_number_is_ignored(void)
{
	int fd = open_device();
	pid_t self = getpid();

	if (fd < 0)
		return -1;
	EXPECT_EQ(ioctl(fd, 0xdeadbeef, &self), 0);
	EXPECT_EQ(ioctl(fd, _IOW('f', 1, pid_t), &self), 0);
	close(fd);
	return 0;
}

static int p3_position_is_the_address_and_advances(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct target t = spawn(write_secret, p + 8);
	int fd = open_device();
	char buf[sizeof(SECRET)] = "", seen[8];

	if (fd < 0)
		return -1;
	EXPECT_EQ(ioctl(fd, 0, &t.pid), 0);
	EXPECT_EQ(lseek(fd, (off_t)(unsigned long)p + 8, SEEK_SET), (off_t)(unsigned long)p + 8);
	EXPECT_EQ(read(fd, buf, 4), 4);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p + 12);
	EXPECT_EQ(read(fd, buf + 4, sizeof(SECRET) - 4), sizeof(SECRET) - 4);
	EXPECT_MEM(buf, SECRET, sizeof(SECRET));
	EXPECT_EQ(lseek(fd, (off_t)(unsigned long)p, SEEK_SET), (off_t)(unsigned long)p);
	EXPECT_EQ(write(fd, "ABCD", 4), 4);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), (off_t)(unsigned long)p + 4);
	EXPECT_EQ(peek(t.pid, (unsigned long)p, seen, 8), 8);
	EXPECT_MEM(seen, "ABCD\0\0\0\0", 8);
	EXPECT_EQ(read(fd, buf, 0), 0);
	close(fd);
	reap(&t);
	return 0;
}

static int p3_two_open_files_keep_their_own_pid(void)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct target a = spawn(write_secret, p), b;
	int fa = open_device(), fb = open_device();
	char ba[8] = "", bb[8] = "";

	strcpy(p, "bbbbbbb");
	b = spawn(NULL, NULL);
	if (fa < 0 || fb < 0)
		return -1;
	EXPECT_EQ(ioctl(fa, 0, &a.pid), 0);
	EXPECT_EQ(ioctl(fb, 0, &b.pid), 0);
	EXPECT_EQ(pread(fa, ba, 7, (off_t)(unsigned long)p), 7);
	EXPECT_EQ(pread(fb, bb, 7, (off_t)(unsigned long)p), 7);
	EXPECT_MEM(ba, "Hey thi", 7);
	EXPECT_MEM(bb, "bbbbbbb", 7);
	close(fa);
	close(fb);
	reap(&a);
	reap(&b);
	return 0;
}

static long student_device_read(void *arg)
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
	if (n < 0)
		return -errno;
	return memcmp(buf, SECRET, sizeof(SECRET)) ? -EBADMSG : 0;
}

static int p3_has_no_root_check(void)
{
	struct target t = spawn(NULL, NULL);
	long ret = as_student(student_device_read, &t);

	reap(&t);
	EXPECT_EQ(ret, 0);
	return 0;
}

static int p3_kernel_thread_read_is_esrch(void)
{
	int fd = open_device();
	pid_t kthreadd = 2;
	char buf[8];

	if (fd < 0)
		return -1;
	EXPECT_EQ(ioctl(fd, 0, &kthreadd), 0);
	EXPECT_ERR(read(fd, buf, 8) < 0 ? -errno : 0, ESRCH);
	close(fd);
	return 0;
}

static int p3_leftover_node_after_rmmod_is_enxio(void)
{
	int fd = open(DEVICE, O_RDWR);

	EXPECT_ERR(fd < 0 ? -errno : 0, ENXIO);
	return 0;
}

/* ---- the runner ---- */

struct test_case {
	const char *name;
	int (*fn)(void);
	unsigned int modules;
};

#define CASE(fn, modules) { #fn, fn, modules }

static const struct test_case cases[] = {
	CASE(none_read_is_enosys, M_NONE),
	CASE(none_write_is_enosys, M_NONE),
	CASE(none_bad_cmd_is_enosys, M_NONE),
	CASE(bad_cmd_is_einval, M_SYSCALL),
	CASE(bad_cmd_checked_before_len, M_SYSCALL),
	CASE(zero_len_returns_zero_before_other_checks, M_SYSCALL),
	CASE(non_root_is_eperm, M_SYSCALL),
	CASE(eperm_checked_before_esrch, M_SYSCALL),
	CASE(no_such_pid_is_esrch, M_SYSCALL),
	CASE(kernel_thread_is_esrch, M_SYSCALL),
	CASE(address_at_task_size_is_efault, M_ANY),
	CASE(unmapped_address_is_efault, M_ANY),
	CASE(bad_caller_buffer_is_efault, M_ANY),
	CASE(read_from_another_process, M_ANY),
	CASE(read_own_memory, M_ANY),
	CASE(write_into_another_process, M_ANY),
	CASE(high_address_above_47_bits, M_ANY),
	CASE(p1_copies_only_to_the_end_of_the_page, M_P1),
	CASE(p1_untouched_page_is_efault, M_P1),
	CASE(p1_write_to_string_literal_is_efault, M_P1),
	CASE(p1_does_not_break_copy_on_write, M_P1),
	CASE(gup_reads_across_pages, M_GUP),
	CASE(gup_writes_across_pages, M_GUP),
	CASE(gup_faults_in_untouched_pages, M_GUP),
	CASE(gup_writes_a_string_literal, M_GUP),
	CASE(gup_breaks_copy_on_write_after_fork, M_GUP),
	CASE(gup_partial_copy_stops_at_a_hole, M_GUP),
	CASE(p3_read_and_write_without_pid_are_esrch, M_P3),
	CASE(p3_ioctl_bad_pointer_is_efault, M_P3),
	CASE(p3_ioctl_no_such_pid_is_esrch, M_P3),
	CASE(p3_ioctl_request_number_is_ignored, M_P3),
	CASE(p3_position_is_the_address_and_advances, M_P3),
	CASE(p3_two_open_files_keep_their_own_pid, M_P3),
	CASE(p3_has_no_root_check, M_P3),
	CASE(p3_kernel_thread_read_is_esrch, M_P3),
};

static int usage(void)
{
	fprintf(stderr, "usage: farfetch_tests --module none|p1|p2|p3 [--unloaded]\n");
	return 2;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, unloaded = 0, i, n = 0;
	const char *name = NULL;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--module") && i + 1 < argc)
			name = argv[++i];
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
	if (geteuid() != 0) {
		fprintf(stderr, "farfetch_tests: run as root\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])) + 1; i++) {
		const struct test_case *c = i < (int)(sizeof(cases) / sizeof(cases[0])) ? &cases[i] :
			&(const struct test_case)CASE(p3_leftover_node_after_rmmod_is_enxio, M_P3);
		int is_unload_case = c->fn == p3_leftover_node_after_rmmod_is_enxio;

		if (!(c->modules & module) || is_unload_case != unloaded)
			continue;
		failure[0] = '\0';
		if (c->fn() == 0 && !failure[0]) {
			printf("ok %d - %s\n", ++n, c->name);
			passed++;
		} else {
			printf("not ok %d - %s # %s\n", ++n, c->name, failure);
			failed++;
		}
	}
	printf("1..%d\n%d passed, %d failed\n", n, passed, failed);
	return failed ? 1 : 0;
}
