// SPDX-License-Identifier: GPL-2.0
/*
 * What the fuzzer asks of the kernel around the calls: the kernel log's new
 * records (splats), the module under test (load, refcount, unload, where
 * its text is), free memory, and the device node for Part 3.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef __NR_farfetch
#define __NR_farfetch 505
#endif

long sys_far(unsigned int cmd, void *addr, pid_t pid, unsigned long taddr, size_t len)
{
	long r = syscall(__NR_farfetch, cmd, addr, pid, taddr, len);

	return r < 0 ? -errno : r;
}

/* /dev/kmsg positioned at its end: later reads return only newer records. */
int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 || lseek(fd, 0, SEEK_END) < 0) {
		perror("farfetch_fuzz: /dev/kmsg");
		exit(2);
	}
	return fd;
}

/*
 * What the debug kernel reports when something is wrong: KASAN, lockdep
 * ("WARNING: possible circular locking ..."), might_sleep(), refcount_t,
 * list debugging, UBSAN, hung tasks, and any stack dump at all.
 */
static const char *const splat_words[] = {
	"BUG:", "WARNING:", "KASAN", "UBSAN", "Oops", "general protection",
	"sleeping function called from invalid context", "refcount_t:",
	"lockdep", "list_add corruption", "list_del corruption",
	"INFO: task", "Call Trace:", "stale hook", "kernel BUG",
};

/* Counts splat records logged since @fd was opened (or last read); prints the first few. */
unsigned long kmsg_splats(int fd)
{
	static unsigned long shown;
	unsigned long n = 0;
	char rec[8192];
	ssize_t len;
	size_t i;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on with the next */
		if (len <= 0)
			break;
		rec[len] = '\0';
		/* A user program's fault (a target hit by a stray write) is not the kernel's. */
		if (strstr(rec, ";traps: ") || strstr(rec, " segfault at "))
			continue;
		for (i = 0; i < sizeof(splat_words) / sizeof(splat_words[0]); i++) {
			if (!strstr(rec, splat_words[i]))
				continue;
			n++;
			if (shown++ < 20)
				printf("splat: %s", strchr(rec, ';') ? strchr(rec, ';') + 1 : rec);
			break;
		}
	}
	return n;
}

static void module_path(const char *name, char *out, size_t size)
{
	struct utsname u;

	uname(&u);
	snprintf(out, size, "/lib/modules/%s/extra/%s.ko", u.release, name);
}

/* 0 or -errno of finit_module(2) on the reference module @name. */
long module_load(const char *name)
{
	char path[256];
	long r;
	int fd;

	module_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0);
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* 0 or -errno of delete_module(2), as rmmod does it (O_NONBLOCK: never waits). */
long module_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) < 0 ? -errno : 0;
}

static long read_number(const char *path, int base)
{
	char text[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	return text[0] ? (long)strtoul(text, NULL, base) : -1;
}

long module_refcount(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	return read_number(path, 10);
}

unsigned long module_text(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/%s/sections/.text", name);
	return (unsigned long)read_number(path, 16);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	/* A cache that cannot shrink, or a knob this kernel lacks, is fine. */
	if (fd >= 0) {
		ssize_t ignored = write(fd, text, strlen(text));

		(void)ignored;
		close(fd);
	}
}

/*
 * Free pages (nr_free_pages and the per-CPU lists) once the page cache is dropped and every slab cache shrunk
 * (which also empties KASAN's quarantine of freed objects): what is left
 * allocated is what someone still holds.
 */
long free_pages_settled(void)
{
	char line[128], path[512];
	struct dirent *d;
	long n = -1, pcp;
	DIR *dir;
	FILE *f;

	sync();
	write_file("/proc/sys/vm/drop_caches", "3\n");
	dir = opendir("/sys/kernel/slab");
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		write_file(path, "1\n");
	}
	if (dir)
		closedir(dir);
	write_file("/proc/sys/vm/compact_memory", "1\n");
	f = fopen("/proc/vmstat", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_free_pages %ld", &n) == 1)
			break;
	}
	if (f)
		fclose(f);
	/* Free pages parked on the per-CPU lists are not in nr_free_pages: add them. */
	f = fopen("/proc/zoneinfo", "r");
	while (f && n >= 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " count: %ld", &pcp) == 1)
			n += pcp;
	}
	if (f)
		fclose(f);
	return n;
}

/* A node for farfetch_p3's dynamic major, made here (the suite does the same). */
char *device_node(void)
{
	static char path[] = "/dev/farfetch-fuzz";
	char line[128], name[64];
	unsigned int major = 0, m;
	FILE *f = fopen("/proc/devices", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %63s", &m, name) == 2 && !strcmp(name, "farfetch"))
			major = m;
	}
	if (f)
		fclose(f);
	if (!major)
		return NULL;
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(major, 0)) < 0)
		return NULL;
	return path;
}
