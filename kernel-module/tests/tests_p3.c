// SPDX-License-Identifier: GPL-2.0
/* Cases: more of Part 3's file interface (ioctl, lseek, zero counts). */
#include "harness.h"

static int open_dev(void)
{
	int fd = open(DEVICE, O_RDWR);

	if (fd < 0)
		fail("setup failed: open(%s): %s", DEVICE, strerror(errno));
	return fd;
}

static void write_b(void *p)
{
	strcpy(p, "bbbbbbb");
}

static int p3_second_ioctl_switches_target(void)
{
	char *p = map_pages(1), buf[8] = "";
	struct target a, b;
	int fd = open_dev();

	if (fd < 0)
		return -1;
	REQUIRE(p);
	a = spawn(write_secret, p);
	b = spawn(write_b, p);
	REQUIRE(a.pid > 0 && b.pid > 0);
	EXPECT_EQ(res(ioctl(fd, 0, &a.pid)), 0);
	EXPECT_EQ(pread(fd, buf, 7, (off_t)(unsigned long)p), 7);
	EXPECT_MEM(buf, "Hey thi", 7);
	EXPECT_EQ(res(ioctl(fd, 0, &b.pid)), 0);
	EXPECT_EQ(pread(fd, buf, 7, (off_t)(unsigned long)p), 7);
	EXPECT_MEM(buf, "bbbbbbb", 7);
	close(fd);
	reap(&a);
	reap(&b);
	return 0;
}

static int p3_failed_ioctl_keeps_the_old_pid(void)
{
	char *p = map_pages(1), buf[8] = "";
	pid_t nobody = dead_pid();
	struct target a;
	int fd = open_dev();

	if (fd < 0)
		return -1;
	REQUIRE(p);
	a = spawn(write_secret, p);
	REQUIRE(a.pid > 0);
	EXPECT_EQ(res(ioctl(fd, 0, &a.pid)), 0);
	EXPECT_ERR(res(ioctl(fd, 0, &nobody)), ESRCH);
	EXPECT_ERR(res(ioctl(fd, 0, (void *)8)), EFAULT);
	EXPECT_EQ(pread(fd, buf, 7, (off_t)(unsigned long)p), 7);
	EXPECT_MEM(buf, "Hey thi", 7);
	close(fd);
	reap(&a);
	return 0;
}

static int p3_zero_count_without_pid_is_esrch(void)
{
	int fd = open_dev();
	char buf[1];

	if (fd < 0)
		return -1;
	/* No target comes before "nothing to copy". */
	EXPECT_ERR(res(read(fd, buf, 0)), ESRCH);
	EXPECT_ERR(res(write(fd, buf, 0)), ESRCH);
	close(fd);
	return 0;
}

static int p3_seek_end_is_einval(void)
{
	int fd = open_dev();
	pid_t self = getpid();

	if (fd < 0)
		return -1;
	EXPECT_EQ(res(ioctl(fd, 0, &self)), 0);
	EXPECT_EQ(lseek(fd, 4096, SEEK_SET), 4096);
	/* The device has no end. */
	EXPECT_ERR(res(lseek(fd, 0, SEEK_END)), EINVAL);
	EXPECT_ERR(res(lseek(fd, -8, SEEK_END)), EINVAL);
	EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 4096);
	close(fd);
	return 0;
}

const struct test_case p3_cases[] = {
	CASE(p3_second_ioctl_switches_target, M_P3),
	CASE(p3_failed_ioctl_keeps_the_old_pid, M_P3),
	CASE(p3_zero_count_without_pid_is_esrch, M_P3),
	CASE(p3_seek_end_is_einval, M_P3),
};

const size_t nr_p3_cases = sizeof(p3_cases) / sizeof(p3_cases[0]);
