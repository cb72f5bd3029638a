// SPDX-License-Identifier: GPL-2.0
/*
 * bag: asks for a password (getpass) and keeps it, with a counter, in the
 * data segment. Change the counter or the password from outside and see it
 * when the bag is opened.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include "target_common.h"

static struct {
	char password[32];
	int counter;
	char note[32];
} bag = { "", 3, SECRET };

int main(void)
{
	char *typed = getpass("bag password: ");

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
