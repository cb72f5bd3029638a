// SPDX-License-Identifier: GPL-2.0
/* Cases: no module (every call is -ENOSYS), and the argument checks of the
 * system call in the spec's order. */
#include "harness.h"

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

const struct test_case args_cases[] = {
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
};

const size_t nr_args_cases = sizeof(args_cases) / sizeof(args_cases[0]);
