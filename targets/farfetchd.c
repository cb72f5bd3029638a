// SPDX-License-Identifier: GPL-2.0
/* farfetchd <pid> <addr> <len>: edit another process's memory through farfetch(2). */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#if __has_include(<linux/farfetch.h>)
#include <linux/farfetch.h>
#else
enum farfetch_cmd { FAR_READ = 0, FAR_WRITE = 1 };
#endif
#include "farfetchd_common.h"

#ifndef __NR_farfetch
#define __NR_farfetch 505
#endif

static long far(unsigned int cmd, pid_t pid, unsigned long addr, const void *buf, size_t len)
{
	long n = syscall(__NR_farfetch, cmd, buf, pid, addr, len);

	return n < 0 ? -errno : n;
}

static long far_read(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	return far(FAR_READ, pid, addr, buf, len);
}

static long far_write(pid_t pid, unsigned long addr, const void *buf, size_t len)
{
	return far(FAR_WRITE, pid, addr, buf, len);
}

int main(int argc, char **argv)
{
	static const struct farfetchd_ops ops = { "farfetchd", far_read, far_write };

	return farfetchd_main(argc, argv, &ops);
}
