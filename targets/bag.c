// SPDX-License-Identifier: GPL-2.0
/*
 * bag: asks for a password (getpass) and keeps it, with a counter and a
 * note, in the data segment. Change them from outside and see it when the
 * bag is opened. Without a terminal, getpass() reads the password from
 * stdin: `printf 'pw\n' | bag` (then only SIGUSR1 continues it).
 */
#include "target_common.h"
#include <stdlib.h>

static struct {
	char password[32];
	int counter;
	char note[32];
} bag = { "", 3, SECRET };

int main(void)
{
	char *typed;

	/*
	 * Unbuffered, so that getpass() reading stdin (no terminal) takes only
	 * the password line and leaves the Enter that continues for later.
	 */
	setvbuf(stdin, NULL, _IONBF, 0);
	catch_sigusr1();
	typed = getpass("bag password: ");
	if (!typed)
		return 1;
	snprintf(bag.password, sizeof(bag.password), "%s", typed);
	announce("the bag (password, counter, note) in the data segment", &bag, sizeof(bag));
	printf("counter-addr: %p\nnote-addr: %p\n", (void *)&bag.counter, (void *)bag.note);
	wait_to_continue();
	print_now("password", bag.password, sizeof(bag.password));
	printf("counter: %d\n", bag.counter);
	print_now("now", bag.note, sizeof(bag.note));
	return 0;
}
