/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Installing a farfetch(2) implementation (Parts 1 and 2), as the handout
 * says: the module's init stores its function in farfetch_ptr and its exit
 * puts back what it found there, which for the reference modules is always
 * the kernel's default, farfetch_enosys().
 *
 * The kernel pins the module for each call (kernel/farfetch.c), so the exit
 * never runs while a call is still in the module, and nothing here waits.
 * What a module can still get wrong is the pointer itself; the reference
 * modules refuse to replace another module's hook, and on unload restore
 * the default only if the hook is still theirs.  Part 3 does not include
 * this: it must load on a kernel without the patch.
 */
#ifndef _FARFETCH_HOOK_H
#define _FARFETCH_HOOK_H

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/farfetch.h>
#include <linux/printk.h>

/**
 * farfetch_hook_install - make @fn the implementation of farfetch(2)
 * @fn: the module's function
 *
 * Only over the default: replacing another module's hook would leave both
 * modules believing they own it, and whichever is unloaded first would
 * switch the other off (or, restoring a saved value, revive a module that
 * is gone).
 *
 * Return: 0; -EBUSY if another module's hook is installed.
 */
static inline int farfetch_hook_install(farfetch_fn fn)
{
	farfetch_fn old = cmpxchg(&farfetch_ptr, farfetch_enosys, fn);

	if (old != farfetch_enosys) {
		pr_err("farfetch() is already implemented by %ps: unload that module first\n",
		       old);
		return -EBUSY;
	}
	return 0;
}

/**
 * farfetch_hook_remove - put the default back, if the hook is still @fn
 * @fn: the function farfetch_hook_install() installed
 *
 * If something else has replaced @fn meanwhile, that is left in place.
 */
static inline void farfetch_hook_remove(farfetch_fn fn)
{
	cmpxchg(&farfetch_ptr, fn, farfetch_enosys);
}

#endif /* _FARFETCH_HOOK_H */
