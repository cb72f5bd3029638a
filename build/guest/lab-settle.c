// SPDX-License-Identifier: GPL-2.0
/*
 * lab-settle: what the host has a guest do once its agent answers, in one program run.
 *
 *   lab-settle [--clock SECONDS[.FRACTION]] [--mount SOURCE TARGET FSTYPE OPTIONS]
 *              [--shells-back AWAY SHELLS] [--winsize ROWS COLS] [--cd DIR]
 *              [-- PROGRAM [ARGUMENT...]]
 *
 * --clock sets the time (a machine restored from a snapshot has the snapshot's clock);
 * --mount makes TARGET if it is missing and mounts SOURCE there (the workspace share);
 * --shells-back brings back the shells a suspend sent out of the share: it removes the file
 *   AWAY, then sends SIGWINCH to each shell registered in the folder SHELLS (a file named by
 *   its pid; one whose process is gone is removed). The shells' trap (build/guest/profile.sh)
 *   then steps back into the share. After a failed --mount only AWAY goes: the shells stay out
 *   of an empty mountpoint, where their edits would land on the guest's disk;
 * --winsize sets the size of the serial console, /dev/ttyS0 (the student's terminal);
 * --cd changes the working directory;
 * -- PROGRAM ARGUMENT... runs PROGRAM (found in PATH) in this process once the steps are done:
 *   the host's way to start every guest command (the agent cannot set a working directory), and
 *   to set a restored guest's clock in the same program start as its first command.
 * The arguments are all checked first (a mistake there is exit status 2 and nothing done); then
 * every step asked for is tried in the order given, each failure is said on stderr, and the
 * exit status has one bit per failed step: 1 the clock, 2 the mount, 4 the size (the host does
 * not fail a boot on the size alone), 8 the shells, 16 the directory. With a PROGRAM, a failed
 * step is exit status 125 and PROGRAM is not run; a PROGRAM that cannot be run is 127 when it
 * is not found, else 126, as in a shell.
 *
 * Why not date, mount(8) and stty: under TCG every program started costs its start-up again on
 * a cold translation cache, and a machine just restored from a snapshot has nothing translated
 * (docs/benchmarks.md, "Warm start"). Three dynamically linked programs took 0.35-0.45 s side
 * by side; one small static one does the three system calls in a fraction of that. Linked
 * statically so that no dynamic loader runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define CONSOLE "/dev/ttyS0"

#define FAILED_CLOCK 1
#define FAILED_MOUNT 2
#define FAILED_WINSIZE 4
#define FAILED_SHELLS 8
#define FAILED_CD 16
/* As a shell has them: a step before the program failed; it cannot be run; it is not found. */
#define EXIT_NOT_RUN 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

static int usage(FILE *to, int status)
{
	fprintf(to,
		"Usage: lab-settle [--clock SECONDS[.FRACTION]] [--mount SOURCE TARGET FSTYPE OPTIONS]\n"
		"                  [--shells-back AWAY SHELLS] [--winsize ROWS COLS] [--cd DIR]\n"
		"                  [-- PROGRAM [ARGUMENT...]]\n");
	return status;
}

/* A whole decimal number in [min, max], or -1. */
static long parse_number(const char *text, long min, long max)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value < min || value > max)
		return -1;
	return value;
}

static int set_clock(const char *text)
{
	struct timeval tv = { 0 };
	const char *dot = strchr(text, '.');
	char seconds[32];
	size_t len = dot ? (size_t)(dot - text) : strlen(text);
	long usec = 0;
	int digits;

	if (len == 0 || len >= sizeof(seconds))
		goto bad;
	memcpy(seconds, text, len);
	seconds[len] = '\0';
	tv.tv_sec = parse_number(seconds, 0, LONG_MAX - 1);
	if (tv.tv_sec < 0)
		goto bad;
	if (dot) {
		const char *fraction = dot + 1;

		if (!*fraction || strspn(fraction, "0123456789") != strlen(fraction))
			goto bad;
		/* Six digits of it, as microseconds: fewer are padded, more cut off. */
		for (digits = 0; digits < 6; digits++)
			usec = usec * 10 + (*fraction ? *fraction++ - '0' : 0);
	}
	tv.tv_usec = usec;
	if (settimeofday(&tv, NULL) == 0)
		return 0;
	fprintf(stderr, "lab-settle: setting the clock: %s\n", strerror(errno));
	return FAILED_CLOCK;
bad:
	fprintf(stderr, "lab-settle: --clock %s: not a time in seconds\n", text);
	return FAILED_CLOCK;
}

static int mount_share(char *const args[4])
{
	const char *source = args[0], *target = args[1], *fstype = args[2], *options = args[3];

	if (mkdir(target, 0755) && errno != EEXIST) {
		fprintf(stderr, "lab-settle: making %s: %s\n", target, strerror(errno));
		return FAILED_MOUNT;
	}
	if (mount(source, target, fstype, 0, options) == 0)
		return 0;
	fprintf(stderr, "lab-settle: mounting %s on %s: %s\n", source, target, strerror(errno));
	return FAILED_MOUNT;
}

static int shells_back(const char *away, const char *shells, int mounted)
{
	struct dirent *entry;
	DIR *dir;

	if (unlink(away) && errno != ENOENT) {
		fprintf(stderr, "lab-settle: removing %s: %s\n", away, strerror(errno));
		return FAILED_SHELLS;
	}
	if (!mounted)
		return 0;
	dir = opendir(shells);
	if (!dir) {
		/* No shell ever registered: nobody to bring back. */
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "lab-settle: reading %s: %s\n", shells, strerror(errno));
		return FAILED_SHELLS;
	}
	for (errno = 0; (entry = readdir(dir)); errno = 0) {
		long pid = parse_number(entry->d_name, 1, INT_MAX);

		/* ".", "..": not a shell. SIGWINCH is ignored by default: a reused pid is not harmed. */
		if (pid > 0 && kill(pid, SIGWINCH) && errno == ESRCH)
			unlinkat(dirfd(dir), entry->d_name, 0);
	}
	if (errno) {
		fprintf(stderr, "lab-settle: reading %s: %s\n", shells, strerror(errno));
		closedir(dir);
		return FAILED_SHELLS;
	}
	closedir(dir);
	return 0;
}

static int set_winsize(const char *rows, const char *cols)
{
	struct winsize size = { 0 };
	/* 0 is what stty takes too: "unknown" for programs that ask. */
	long r = parse_number(rows, 0, 0xffff), c = parse_number(cols, 0, 0xffff);
	int fd, ret;

	if (r < 0 || c < 0) {
		fprintf(stderr, "lab-settle: --winsize %s %s: not a size in rows and columns\n", rows, cols);
		return FAILED_WINSIZE;
	}
	size.ws_row = r;
	size.ws_col = c;
	/*
	 * O_NOCTTY: this program must not take the console as its controlling terminal; O_NONBLOCK,
	 * as stty -F: the open must not wait for a carrier.
	 */
	fd = open(CONSOLE, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "lab-settle: opening %s: %s\n", CONSOLE, strerror(errno));
		return FAILED_WINSIZE;
	}
	ret = ioctl(fd, TIOCSWINSZ, &size);
	if (ret)
		fprintf(stderr, "lab-settle: sizing %s: %s\n", CONSOLE, strerror(errno));
	close(fd);
	return ret ? FAILED_WINSIZE : 0;
}

static int change_dir(const char *dir)
{
	if (chdir(dir) == 0)
		return 0;
	fprintf(stderr, "lab-settle: --cd %s: %s\n", dir, strerror(errno));
	return FAILED_CD;
}

/*
 * Goes through the arguments up to a "--": with act false only checks that each is known and
 * has its arguments (returns -1 if not, 0 if so); with act true runs each step and returns the
 * failed steps' bits. *program is the index of the word after "--", or 0 when there is none.
 */
static int walk(int argc, char **argv, int act, int *program)
{
	int failed = 0;
	int i;

	*program = 0;
	for (i = 1; i < argc; i++) {
		const char *word = argv[i];
		int left = argc - i - 1;

		if (!strcmp(word, "--") && left >= 1) {
			*program = i + 1;
			break;
		}

		if (!strcmp(word, "--clock") && left >= 1) {
			failed |= act ? set_clock(argv[i + 1]) : 0;
			i += 1;
		} else if (!strcmp(word, "--mount") && left >= 4) {
			failed |= act ? mount_share(&argv[i + 1]) : 0;
			i += 4;
		} else if (!strcmp(word, "--shells-back") && left >= 2) {
			failed |= act ? shells_back(argv[i + 1], argv[i + 2], !(failed & FAILED_MOUNT)) : 0;
			i += 2;
		} else if (!strcmp(word, "--winsize") && left >= 2) {
			failed |= act ? set_winsize(argv[i + 1], argv[i + 2]) : 0;
			i += 2;
		} else if (!strcmp(word, "--cd") && left >= 1) {
			failed |= act ? change_dir(argv[i + 1]) : 0;
			i += 1;
		} else {
			fprintf(stderr, "lab-settle: %s: unknown, or missing its arguments\n", word);
			return -1;
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	int program, failed;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	if (argc < 2 || walk(argc, argv, 0, &program) < 0)
		return usage(stderr, 2);
	failed = walk(argc, argv, 1, &program);
	if (!program)
		return failed;
	if (failed) {
		fprintf(stderr, "lab-settle: %s not run: a step before it failed\n", argv[program]);
		return EXIT_NOT_RUN;
	}
	execvp(argv[program], &argv[program]);
	fprintf(stderr, "lab-settle: %s: %s\n", argv[program], strerror(errno));
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
