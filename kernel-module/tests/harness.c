// SPDX-License-Identifier: GPL-2.0
/* The in-guest suite's harness: see harness.h. */
#include "harness.h"

enum module module;
char failure[768];
const char *const literal = SECRET;	/* in .rodata: read-only */
char data_page[PAGE] __attribute__((aligned(4096))) = SECRET;

/* ---- the harness: expectations ---- */

/* Records the first failed expectation of the running case; returns -1. */
int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	if (!failure[0]) {
		va_start(ap, fmt);
		vsnprintf(failure, sizeof(failure), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A result as it reads best: "-EFAULT" for a negative errno, else the number. */
const char *show(long long v, char *buf, size_t size)
{
	const char *name = v < 0 && v > -4096 ? strerrorname_np((int)-v) : NULL;

	if (name)
		snprintf(buf, size, "-%s", name);
	else
		snprintf(buf, size, "%lld", v);
	return buf;
}

int expect_eq(long long got, long long want, const char *expr, int line)
{
	char g[32], w[32];

	if (got == want)
		return 0;
	return fail("expected %s, got %s from %s (line %d)", show(want, w, sizeof(w)),
		    show(got, g, sizeof(g)), expr, line);
}

/* Up to 24 bytes from @p, escaped, in quotes. */
const char *quote(const unsigned char *p, size_t n, char *buf)
{
	char *o = buf;
	size_t i;

	*o++ = '"';
	for (i = 0; i < n && i < 24; i++)
		o += p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\' ?
			     sprintf(o, "%c", p[i]) : sprintf(o, "\\x%02x", p[i]);
	strcpy(o, n > 24 ? "\"..." : "\"");
	return buf;
}

int expect_mem(const void *got, const void *want, size_t n, const char *expr, int line)
{
	const unsigned char *g = got, *w = want;
	char gs[128], ws[128];
	size_t i;

	for (i = 0; i < n && g[i] == w[i]; i++)
		;
	if (i == n)
		return 0;
	return fail("expected %s, got %s at byte %zu of %s (line %d)", quote(w + i, n - i, ws),
		    quote(g + i, n - i, gs), i, expr, line);
}

/* ---- the interface under test: farfetch(2), or /dev/farfetch for p3 ---- */

long sys_far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
{
	long n = syscall(__NR_farfetch, cmd, buf, pid, addr, len);

	return n < 0 ? -errno : n;
}

/* The same call through the device: open, ioctl(pid), lseek(addr), read/write. */
long dev_far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
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
long far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
{
	return module == M_P3 ? dev_far(cmd, buf, pid, addr, len) :
				sys_far(cmd, buf, pid, addr, len);
}

/*
 * far() at an address of 2^63 or more. A file position is signed, so the
 * device may refuse the lseek() there with EINVAL (default_llseek does) or
 * take it as unsigned and fail the read: either way the address is not
 * reached. An EINVAL from lseek() is reported as the EFAULT the syscall
 * gives, so the cases expect one answer.
 */
long far_high(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len)
{
	int fd;
	long n;

	if (module != M_P3)
		return sys_far(cmd, buf, pid, addr, len);
	fd = open(DEVICE, O_RDWR);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, 0, &pid) < 0) {
		n = -errno;
	} else if (lseek(fd, (off_t)addr, SEEK_SET) == (off_t)-1) {
		n = errno == EINVAL ? -EFAULT : -errno;
	} else {
		n = cmd == FAR_WRITE ? write(fd, buf, len) : read(fd, buf, len);
		n = n < 0 ? -errno : n;
	}
	close(fd);
	return n;
}

/* -errno of a libc call that returns -1 on error, else its result. */
long res(long ret)
{
	return ret < 0 ? -errno : ret;
}


/*
 * TASK_SIZE_OF(task) for a 64-bit process, found out rather than assumed.
 *
 * On x86-64 it is TASK_SIZE_MAX = (1 << __VIRTUAL_MASK_SHIFT) - PAGE_SIZE,
 * and __VIRTUAL_MASK_SHIFT is 56 when the kernel runs with 5-level paging
 * (la57), else 47 (arch/x86/include/asm/page_64_types.h). It does not
 * depend on the process: mmap() only *defaults* to addresses below
 * DEFAULT_MAP_WINDOW (2^47 - PAGE_SIZE) unless given a hint above it, but
 * the address space, and TASK_SIZE_OF(), are the full 56 bits for every
 * process. The last page of user space is therefore [TASK_SIZE - PAGE,
 * TASK_SIZE): mmap(MAP_FIXED_NOREPLACE) takes it there (EEXIST if something
 * is already there, e.g. a stack), and refuses TASK_SIZE itself with ENOMEM
 * (mm/mmap.c: addr > TASK_SIZE - len).
 */
unsigned long task_size(void)
{
	static const int shifts[] = { 56, 47 };
	unsigned int i;

	for (i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		unsigned long top = (1UL << shifts[i]) - PAGE;
		void *below = mmap((void *)(top - PAGE), PAGE, PROT_READ,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		void *at;

		if (below == MAP_FAILED && errno != EEXIST)
			continue;
		if (below != MAP_FAILED)
			munmap(below, PAGE);
		at = mmap((void *)top, PAGE, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (at == MAP_FAILED)
			return top;
		munmap(at, PAGE);
	}
	return 0;
}

/*
 * Marks the running case as skipped, with the reason: the runner prints
 * "ok N - name # SKIP reason" (TAP) and counts it as passed.
 */
int __attribute__((format(printf, 1, 2))) skip(const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(failure, sizeof(failure), "# SKIP ");

	va_start(ap, fmt);
	vsnprintf(failure + n, sizeof(failure) - n, fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * The name of the module under test: the one loaded module that is not the
 * lab's own lab_introspect (a student's module may have any name). Fills
 * @name and returns 0, or fails the case.
 */
int module_under_test(char *name, size_t size)
{
	char line[256], found[64] = "";
	int n = 0;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return fail("setup failed: /proc/modules: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char mod[64];

		if (sscanf(line, "%63s", mod) == 1 && strcmp(mod, "lab_introspect")) {
			snprintf(found, sizeof(found), "%s", mod);
			n++;
		}
	}
	fclose(f);
	if (n != 1)
		return fail("setup failed: expected one module under test in /proc/modules, found %d",
			    n);
	snprintf(name, size, "%s", found);
	return 0;
}
