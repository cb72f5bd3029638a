/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-guest suite's harness: expectations that record the first failure
 * of a case, the interface under test (farfetch(2), or /dev/farfetch for
 * p3), and the targets and helpers the cases share. The cases are in
 * tests_*.c, each file with its own table; farfetch_tests.c runs them.
 * Include this first: it defines _GNU_SOURCE.
 */
#ifndef FARFETCH_TESTS_HARNESS_H
#define FARFETCH_TESTS_HARNESS_H

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
#define TIMEOUT 120	/* seconds per case; TCG is slow, but not that slow */
#define STUDENT 1000	/* uid and gid of the unprivileged caller */

enum module { M_NONE = 1, M_P1 = 2, M_P2 = 4, M_P3 = 8, M_P3_UNLOADED = 16 };
#define M_SYSCALL (M_P1 | M_P2)
#define M_GUP (M_P2 | M_P3)
#define M_ANY (M_P1 | M_P2 | M_P3)


extern enum module module;
extern char failure[768];
extern const char *const literal;	/* in .rodata: read-only */
extern char data_page[PAGE];		/* page-aligned, holds SECRET */

#define EXPECT_EQ(got, want) do {					\
	if (expect_eq((long long)(got), (long long)(want), #got, __LINE__)) \
		return -1;						\
} while (0)

#define EXPECT_ERR(got, err) do {					\
	if (expect_eq((long long)(got), -(long long)(err), #got, __LINE__)) \
		return -1;						\
} while (0)

#define EXPECT_MEM(got, want, n) do {					\
	if (expect_mem((got), (want), (n), #got, __LINE__))		\
		return -1;						\
} while (0)

/* A precondition of the case itself (not the module) that did not hold. */
#define REQUIRE(cond) do {						\
	if (!(cond))							\
		return fail("setup failed: %s (line %d): %s", #cond, __LINE__, \
			    strerror(errno));				\
} while (0)

/* The case can't run here (e.g. a 4-level guest): reported as "ok ... # SKIP why". */
#define SKIP(...) return skip(__VA_ARGS__)

struct target {
	pid_t pid;
	int hold;	/* the child lives until this pipe closes */
};

struct test_case {
	const char *name;
	int (*fn)(void);
	unsigned int modules;
	unsigned int timeout;	/* seconds; 0 for TIMEOUT */
};

#define CASE(fn, modules) { #fn, fn, modules, 0 }
/*
 * A case whose work is inherently large (gigabytes copied): its limit must
 * not fail a correct but slower module on a slow or busy machine.
 */
#define SLOW_CASE(fn, modules, seconds) { #fn, fn, modules, seconds }

/* The tables of cases, one per file (tests_NAME.c). */
extern const struct test_case args_cases[], common_cases[], p1_cases[], gup_cases[],
	device_cases[], hook_cases[], thp_cases[], memory_cases[], caller_cases[], leak_cases[];
extern const size_t nr_args_cases, nr_common_cases, nr_p1_cases, nr_gup_cases,
	nr_device_cases, nr_hook_cases, nr_thp_cases, nr_memory_cases, nr_caller_cases,
	nr_leak_cases;

int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...);
const char *show(long long v, char *buf, size_t size);
int expect_eq(long long got, long long want, const char *expr, int line);
const char *quote(const unsigned char *p, size_t n, char *buf);
int expect_mem(const void *got, const void *want, size_t n, const char *expr, int line);
long sys_far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len);
long dev_far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len);
long far(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len);
long far_high(unsigned int cmd, void *buf, pid_t pid, unsigned long addr, size_t len);
long res(long ret);
struct target spawn(void (*setup)(void *), void *arg);
void reap(struct target *t);
long peek(pid_t pid, unsigned long addr, void *buf, size_t len);
char *map_pages(size_t pages);
void write_secret(void *p);

/* Calls of folio_mark_dirty() by the calling thread (harness_trace.c). */
struct dirty_count {
	int outside_fault;	/* the module's own: set_page_dirty_lock() and the like */
	int in_fault;		/* a write fault's, e.g. GUP's FOLL_WRITE faulting the page in */
};
int dirty_watch_start(void);
int dirty_watch_stop(struct dirty_count *count);
void dirty_watch_cleanup(void);
void touch_pages(void *p);
void fill_two_pages(void *p);
void fill_last_page(void *last);
long in_child(long (*fn)(void *), void *arg);
long as_student(long (*fn)(void *), void *arg);
pid_t dead_pid(void);
pid_t zombie_pid(void);
unsigned long task_size(void);
char *cow_page(void);
int module_under_test(char *name, size_t size);
int __attribute__((format(printf, 1, 2))) skip(const char *fmt, ...);

#endif /* FARFETCH_TESTS_HARNESS_H */
