/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Installing a farfetch(2) implementation (Parts 1 and 2): the module's
 * init stores its function in farfetch_ptr and its exit puts the previous
 * value back, both under farfetch_hook_lock for writing.  The system call
 * holds that lock for reading across each call, so the exit waits for calls
 * still running in the module.  Part 3 does not include this: it must load
 * on a kernel without the patch.
 */
#ifndef _FARFETCH_HOOK_H
#define _FARFETCH_HOOK_H

#include <linux/farfetch.h>

/**
 * farfetch_hook_install - make @fn the implementation of farfetch(2)
 * @fn: the module's function
 *
 * Return: the implementation it replaces, for farfetch_hook_restore().
 */
static inline farfetch_fn farfetch_hook_install(farfetch_fn fn)
{
	farfetch_fn old;

	down_write(&farfetch_hook_lock);
	old = farfetch_ptr;
	farfetch_ptr = fn;
	up_write(&farfetch_hook_lock);
	return old;
}

/**
 * farfetch_hook_restore - put back what farfetch_hook_install() replaced
 * @old: its return value
 *
 * Waits for calls still running in the module: they hold the lock for
 * reading.
 */
static inline void farfetch_hook_restore(farfetch_fn old)
{
	down_write(&farfetch_hook_lock);
	farfetch_ptr = old;
	up_write(&farfetch_hook_lock);
}

#endif /* _FARFETCH_HOOK_H */
