// SPDX-License-Identifier: GPL-2.0
/* Cases: Part 3, the device (ioctl, lseek, read, write, unload). */
#include "harness.h"

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

static void write_b(void *p)
{
	strcpy(p, "bbbbbbb");
}

static int p3_second_ioctl_switches_target(void)
{
	char *p = map_pages(1), buf[8] = "";
	struct target a, b;
	int fd = open_device();

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
	int fd = open_device();

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
	int fd = open_device();
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
	int fd = open_device();
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

const struct test_case device_cases[] = {
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
	CASE(p3_second_ioctl_switches_target, M_P3),
	CASE(p3_failed_ioctl_keeps_the_old_pid, M_P3),
	CASE(p3_zero_count_without_pid_is_esrch, M_P3),
	CASE(p3_seek_end_is_einval, M_P3),
};

const size_t nr_device_cases = sizeof(device_cases) / sizeof(device_cases[0]);
