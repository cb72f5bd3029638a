// SPDX-License-Identifier: GPL-2.0
/* farfetchd_p3 <pid> <addr> <len>: the same as farfetchd, through /dev/farfetch. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "farfetchd_common.h"

#define DEVICE "/dev/farfetch"

/*
 * open, ioctl(pid), lseek(addr): the device's way to say which bytes. Says
 * which step failed; returns the fd or -errno.
 */
static int open_at(pid_t pid, unsigned long addr)
{
	const char *step = "open " DEVICE;
	int fd = open(DEVICE, O_RDWR);
	int err;

	if (fd < 0)
		goto fail;
	step = "ioctl (choose the pid)";
	if (ioctl(fd, 0, &pid) < 0)
		goto fail;
	step = "lseek (go to the address)";
	if (lseek(fd, (off_t)addr, SEEK_SET) == (off_t)-1)
		goto fail;
	return fd;
fail:
	err = errno;
	fprintf(stderr, "farfetchd_p3: %s: %s%s\n", step, strerror(err),
		fd < 0 && (err == ENOENT || err == ENXIO) ?
		" (is farfetch_p3 loaded, and /dev/farfetch made with mknod?)" : "");
	if (fd >= 0)
		close(fd);
	return -err;
}

static long dev_read(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	int fd = open_at(pid, addr);
	long n;

	if (fd < 0)
		return fd;
	n = read(fd, buf, len);
	n = n < 0 ? -errno : n;
	close(fd);
	return n;
}

static long dev_write(pid_t pid, unsigned long addr, const void *buf, size_t len)
{
	int fd = open_at(pid, addr);
	long n;

	if (fd < 0)
		return fd;
	n = write(fd, buf, len);
	n = n < 0 ? -errno : n;
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	static const struct farfetchd_ops ops = { "farfetchd_p3", dev_read, dev_write };

	return farfetchd_main(argc, argv, &ops);
}
