// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "farfetchd_common.h"

#define MAX_LEN (1UL << 20)

static int usage(const char *name)
{
	fprintf(stderr,
		"usage: %s <pid> <addr> <len>\n"
		"  Reads <len> bytes at <addr> in process <pid> into a temporary file\n"
		"  (/tmp/farfetchd.XXXXXX), opens it in bvi, and writes the bytes back if you\n"
		"  changed them. Numbers may be decimal, 0x hex or 0 octal; <len> is 1 to %lu.\n"
		"environment:\n"
		"  FARFETCHD_EDITOR=CMD  run CMD instead of bvi, for scripted tests: /bin/sh -c runs\n"
		"                        CMD with the temporary file's path appended as its last\n"
		"                        argument, e.g. FARFETCHD_EDITOR='sed -i s/private/fetched/'\n",
		name, MAX_LEN);
	return 2;
}

/*
 * strtoul with base 0 that accepts only a whole, in-range number: no sign,
 * no leading space (strtoul would take " -1" as ULONG_MAX), nothing after it.
 */
static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || *end || *out > max)
		return -1;
	return 0;
}

static int run_editor(const char *path)
{
	const char *editor = getenv("FARFETCHD_EDITOR");
	int status;
	pid_t child = fork();

	if (child < 0)
		return -1;
	if (child == 0) {
		if (editor && *editor)
			execl("/bin/sh", "sh", "-c", "eval \"$FARFETCHD_EDITOR\" '\"$1\"'", "sh", path,
			      (char *)NULL);
		else
			execlp("bvi", "bvi", path, (char *)NULL);
		perror("farfetchd: cannot start the editor");
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int farfetchd_main(int argc, char **argv, const struct farfetchd_ops *ops)
{
	char path[] = "/tmp/farfetchd.XXXXXX";
	unsigned long pid, addr, len;
	unsigned char *before, *after;
	int fd, ret = 1;
	long n;

	if (argc != 4 || parse_number(argv[1], INT_MAX, &pid) || pid == 0 ||
	    parse_number(argv[2], ULONG_MAX, &addr) || parse_number(argv[3], MAX_LEN, &len) ||
	    len == 0)
		return usage(ops->name);
	before = malloc(len);
	after = malloc(len);
	if (!before || !after) {
		fprintf(stderr, "%s: out of memory\n", ops->name);
		return 1;
	}
	n = ops->read((pid_t)pid, addr, before, len);
	if (n < 0) {
		fprintf(stderr, "%s: FAR_READ of pid %lu at 0x%lx failed: %s\n", ops->name, pid, addr,
			strerror((int)-n));
		goto out;
	}
	printf("%s: read %ld bytes from pid %lu at 0x%lx\n", ops->name, n, pid, addr);
	fd = mkstemp(path);
	if (fd < 0 || write(fd, before, n) != n || close(fd)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", ops->name, path, strerror(errno));
		goto unlink;
	}
	if (run_editor(path) != 0) {
		fprintf(stderr, "%s: the editor failed; nothing written\n", ops->name);
		goto unlink;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, after, n) != n) {
		fprintf(stderr, "%s: cannot read back %s (is it shorter now?); nothing written\n",
			ops->name, path);
		if (fd >= 0)
			close(fd);
		goto unlink;
	}
	close(fd);
	if (!memcmp(before, after, n)) {
		printf("%s: no change; nothing written\n", ops->name);
		ret = 0;
		goto unlink;
	}
	n = ops->write((pid_t)pid, addr, after, n);
	if (n < 0) {
		fprintf(stderr, "%s: FAR_WRITE of pid %lu at 0x%lx failed: %s\n", ops->name, pid, addr,
			strerror((int)-n));
		goto unlink;
	}
	printf("%s: wrote %ld bytes to pid %lu at 0x%lx\n", ops->name, n, pid, addr);
	ret = 0;
unlink:
	unlink(path);
out:
	free(before);
	free(after);
	return ret;
}
