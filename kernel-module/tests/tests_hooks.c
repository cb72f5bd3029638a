// SPDX-License-Identifier: GPL-2.0
/*
 * Cases: the farfetch(2) hook whatever modules do with it. Run with
 * --module none: the cases load and unload modules themselves, with
 * finit_module(2) and delete_module(2) for exact errnos, and leave none
 * loaded. handout_hook_a and handout_hook_b (hooks/) are written the way
 * the handout tells students (save the pointer, store their own, put the
 * saved one back) and answer 1001 and 1002; the reference modules refuse to
 * replace another module's hook and restore only their own.
 *
 * A pointer into freed module memory used to oops the next call (RIP in
 * the freed module): each such case would then end with a signal.
 *
 * Also here, for p1 and p2: rmmod while a call is still running in the
 * module fails with EWOULDBLOCK ("in use") at once, instead of waiting in D
 * state or pulling the code from under the call.
 */
#include "harness.h"

#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/utsname.h>

/* Built per kernel release (the normal and the debug kernel): <dir>/<release>/<name>.ko */
#define FIXTURES "/usr/local/libexec/farfetch/modules"
#define HOOK_A 1001	/* what handout_hook_a's hook returns */
#define HOOK_B 1002

/* Loads the module in file @ko with @params: 0 or -errno of finit_module(2). */
static long load(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	long ret;

	if (fd < 0)
		return fail("setup failed: open(%s): %s", ko, strerror(errno)), -ENOENT;
	ret = res(syscall(SYS_finit_module, fd, params, 0));
	close(fd);
	return ret;
}

/* A reference module, from /lib/modules/$(uname -r)/extra. */
static long load_reference(const char *name)
{
	struct utsname u;
	char ko[256];

	uname(&u);
	snprintf(ko, sizeof(ko), "/lib/modules/%s/extra/%s.ko", u.release, name);
	return load(ko, "");
}

/* One of the suite's fixture modules (hooks/), built for the running kernel. */
static long load_fixture(const char *name, const char *params)
{
	struct utsname u;
	char ko[256];

	uname(&u);
	snprintf(ko, sizeof(ko), FIXTURES "/%s/%s.ko", u.release, name);
	return load(ko, params);
}

/* 0 or -errno of delete_module(2), as rmmod does it (O_NONBLOCK). */
static long unload(const char *name)
{
	return res(syscall(SYS_delete_module, name, O_NONBLOCK));
}

/* Whatever a failed case left loaded, newest first. */
static void unload_all(void)
{
	static const char *const names[] = {
		"handout_hook_b", "handout_hook_a", "farfetch_p1", "farfetch_p2",
	};
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unload(names[i]);
}

/* What farfetch(2) answers now: a hook's id, 8 (p1, p2) or -ENOSYS. */
static long call(void)
{
	char buf[8];

	/* Present in our page tables, for Part 1 (which faults nothing in). */
	if (data_page[0] != 'H')
		return fail("setup failed: data_page does not hold SECRET");
	return sys_far(FAR_READ, buf, getpid(), (unsigned long)data_page, sizeof(buf));
}

static int hooks_unloaded_in_load_order_leave_enosys(void)
{
	unload_all();
	EXPECT_EQ(load_fixture("handout_hook_a", ""), 0);
	EXPECT_EQ(call(), HOOK_A);
	EXPECT_EQ(load_fixture("handout_hook_b", ""), 0);
	EXPECT_EQ(call(), HOOK_B);
	/* a puts back the default it saved: b is switched off (a module's doing). */
	EXPECT_EQ(unload("handout_hook_a"), 0);
	EXPECT_ERR(call(), ENOSYS);
	/* b puts back a's hook, in memory that is gone: the kernel resets it. */
	EXPECT_EQ(unload("handout_hook_b"), 0);
	EXPECT_ERR(call(), ENOSYS);
	EXPECT_ERR(call(), ENOSYS);
	/* The hook is free again. */
	EXPECT_EQ(load_reference("farfetch_p1"), 0);
	EXPECT_EQ(call(), 8);
	EXPECT_EQ(unload("farfetch_p1"), 0);
	EXPECT_ERR(call(), ENOSYS);
	return 0;
}

static int hooks_unloaded_in_reverse_order_restore_each_other(void)
{
	unload_all();
	EXPECT_EQ(load_fixture("handout_hook_a", ""), 0);
	EXPECT_EQ(load_fixture("handout_hook_b", ""), 0);
	EXPECT_EQ(call(), HOOK_B);
	EXPECT_EQ(unload("handout_hook_b"), 0);
	EXPECT_EQ(call(), HOOK_A);
	EXPECT_EQ(unload("handout_hook_a"), 0);
	EXPECT_ERR(call(), ENOSYS);
	return 0;
}

static int hook_left_behind_on_unload_is_enosys(void)
{
	unload_all();
	EXPECT_EQ(load_fixture("handout_hook_a", "restore=0"), 0);
	EXPECT_EQ(call(), HOOK_A);
	EXPECT_EQ(unload("handout_hook_a"), 0);
	EXPECT_ERR(call(), ENOSYS);
	EXPECT_EQ(load_reference("farfetch_p2"), 0);
	EXPECT_EQ(call(), 8);
	EXPECT_EQ(unload("farfetch_p2"), 0);
	return 0;
}

static int hook_of_a_failed_init_is_enosys(void)
{
	unload_all();
	EXPECT_ERR(load_fixture("handout_hook_a", "fail_init=1"), EINVAL);
	EXPECT_ERR(call(), ENOSYS);
	EXPECT_EQ(load_reference("farfetch_p1"), 0);
	EXPECT_EQ(call(), 8);
	EXPECT_EQ(unload("farfetch_p1"), 0);
	return 0;
}

static int reference_modules_refuse_to_replace_a_hook(void)
{
	unload_all();
	EXPECT_EQ(load_fixture("handout_hook_a", ""), 0);
	EXPECT_ERR(load_reference("farfetch_p1"), EBUSY);
	EXPECT_ERR(load_reference("farfetch_p2"), EBUSY);
	EXPECT_EQ(call(), HOOK_A);
	EXPECT_EQ(unload("handout_hook_a"), 0);
	EXPECT_EQ(load_reference("farfetch_p1"), 0);
	EXPECT_ERR(load_reference("farfetch_p2"), EBUSY);
	EXPECT_EQ(call(), 8);
	EXPECT_EQ(unload("farfetch_p1"), 0);
	EXPECT_ERR(call(), ENOSYS);
	return 0;
}

static int reference_module_restores_only_its_own_hook(void)
{
	unload_all();
	EXPECT_EQ(load_reference("farfetch_p1"), 0);
	/* A handout-style module over it saves p1's hook. */
	EXPECT_EQ(load_fixture("handout_hook_a", ""), 0);
	EXPECT_EQ(call(), HOOK_A);
	/* p1 leaves a's hook alone. */
	EXPECT_EQ(unload("farfetch_p1"), 0);
	EXPECT_EQ(call(), HOOK_A);
	/* a restores p1's hook, which is gone: the kernel resets it. */
	EXPECT_EQ(unload("handout_hook_a"), 0);
	EXPECT_ERR(call(), ENOSYS);
	return 0;
}

/* ---- rmmod while a call is running (p1, p2) ---- */

struct blocked_call {
	char *buf;	/* the caller's buffer: its page is missing, served by us */
	long ret;
};

static void *read_into_missing_page(void *arg)
{
	struct blocked_call *b = arg;

	b->ret = sys_far(FAR_READ, b->buf, getpid(), (unsigned long)data_page,
			 sizeof(SECRET));
	return NULL;
}

/* The module's reference count, from sysfs; -1 if it can't be read. */
static long refcnt(const char *name)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static int rmmod_during_a_call_is_ewouldblock(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zero = { 0 };
	struct blocked_call b = { map_pages(1), -255 };
	struct uffd_msg msg;
	pthread_t thread;
	char name[64];
	int uffd;

	if (module_under_test(name, sizeof(name)))
		return -1;
	REQUIRE(b.buf);
	REQUIRE(data_page[0] == 'H');	/* present, for Part 1 */
	/*
	 * The caller's buffer is a page that is missing and registered with
	 * userfaultfd: the module's copy_to_user() faults on it and waits
	 * until this thread serves the fault, while the call holds the module.
	 */
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	REQUIRE(uffd >= 0);
	REQUIRE(ioctl(uffd, UFFDIO_API, &api) == 0);
	reg.range.start = (unsigned long)b.buf;
	reg.range.len = PAGE;
	REQUIRE(ioctl(uffd, UFFDIO_REGISTER, &reg) == 0);
	REQUIRE(pthread_create(&thread, NULL, read_into_missing_page, &b) == 0);
	/* Returns once the call is inside the module, waiting for the page. */
	REQUIRE(read(uffd, &msg, sizeof(msg)) == sizeof(msg));
	EXPECT_EQ(msg.event, UFFD_EVENT_PAGEFAULT);
	EXPECT_EQ(msg.arg.pagefault.address & ~(PAGE - 1), (unsigned long)b.buf);
	EXPECT_EQ(refcnt(name), 1);
	EXPECT_ERR(unload(name), EWOULDBLOCK);
	zero.range = reg.range;
	REQUIRE(ioctl(uffd, UFFDIO_ZEROPAGE, &zero) == 0);
	REQUIRE(pthread_join(thread, NULL) == 0);
	EXPECT_EQ(b.ret, sizeof(SECRET));
	EXPECT_MEM(b.buf, SECRET, sizeof(SECRET));
	EXPECT_EQ(refcnt(name), 0);
	close(uffd);
	return 0;
}

const struct test_case hook_cases[] = {
	CASE(hooks_unloaded_in_load_order_leave_enosys, M_NONE),
	CASE(hooks_unloaded_in_reverse_order_restore_each_other, M_NONE),
	CASE(hook_left_behind_on_unload_is_enosys, M_NONE),
	CASE(hook_of_a_failed_init_is_enosys, M_NONE),
	CASE(reference_modules_refuse_to_replace_a_hook, M_NONE),
	CASE(reference_module_restores_only_its_own_hook, M_NONE),
	CASE(rmmod_during_a_call_is_ewouldblock, M_SYSCALL),
};

const size_t nr_hook_cases = sizeof(hook_cases) / sizeof(hook_cases[0]);
