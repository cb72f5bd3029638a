/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The part farfetchd and farfetchd_p3 share: parse "<pid> <addr> <len>",
 * read the target's bytes, open them in bvi (or $FARFETCHD_EDITOR, for
 * scripted tests), and write them back if they changed. Each tool supplies
 * how to read and write the target.
 */
#ifndef FARFETCHD_COMMON_H
#define FARFETCHD_COMMON_H

#include <sys/types.h>

struct farfetchd_ops {
	const char *name;
	/* Return bytes copied or -errno. */
	long (*read)(pid_t pid, unsigned long addr, void *buf, size_t len);
	long (*write)(pid_t pid, unsigned long addr, const void *buf, size_t len);
};

int farfetchd_main(int argc, char **argv, const struct farfetchd_ops *ops);

#endif
