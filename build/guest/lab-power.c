// SPDX-License-Identifier: GPL-2.0
/*
 * poweroff, reboot, halt for the lab guest, one binary installed under the three names.
 *
 * The guest has no init system to ask (its PID 1 is a shell script), so these do what an
 * init does last: flush the file systems and call reboot(2). A C helper rather than
 * `echo o > /proc/sysrq-trigger`: sysrq's power-off runs later from a work queue (the shell
 * prints its next prompt first) and its errors are invisible; reboot(2) acts at once and a
 * student who is not root gets "Operation not permitted" with the exit status to match.
 *
 * On this virtual machine, halting and powering off are the same thing: a halted CPU would
 * leave QEMU running a machine that can do nothing more, so `halt` powers off (and says so).
 * QEMU runs with -no-reboot: a reboot ends QEMU, and the lab boots the same machine again.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

static int usage(const char *name, FILE *to, int status)
{
	fprintf(to,
		"Usage: %s [-f|--force] [-h|--help]\n"
		"  poweroff  flush the disks and power the machine off (the lab shows it stopped)\n"
		"  reboot    flush the disks and restart the machine (the lab boots it again)\n"
		"  halt      the same as poweroff on this virtual machine\n"
		"  -f, --force is accepted and changes nothing: there is no init to ask first\n",
		name);
	return status;
}

int main(int argc, char **argv)
{
	const char *name = basename(argv[0]);
	int command;
	int i;

	if (strcmp(name, "reboot") == 0)
		command = RB_AUTOBOOT;
	else if (strcmp(name, "poweroff") == 0 || strcmp(name, "halt") == 0)
		command = RB_POWER_OFF;
	else
		return usage("poweroff", stderr, 2);

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(name, stdout, 0);
		if (strcmp(argv[i], "-f") != 0 && strcmp(argv[i], "--force") != 0) {
			fprintf(stderr, "%s: unknown option '%s'\n", name, argv[i]);
			return usage(name, stderr, 2);
		}
	}

	if (strcmp(name, "halt") == 0)
		printf("halt: on a virtual machine halting is powering off: powering off\n");
	fflush(stdout);
	sync();
	reboot(command);
	/* Only reached when the kernel refused. */
	fprintf(stderr, "%s: %s\n", name, strerror(errno));
	return 1;
}
