/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A farfetch(2) module written the way the handout tells students to: init
 * saves farfetch_ptr and stores its own function, exit puts the saved value
 * back.  No check that the hook was free, none that it is still ours.  The
 * in-guest suite loads two of these (handout_hook_a, handout_hook_b) in
 * every order to check that the kernel side stays safe whatever modules do
 * with the pointer.  The hook only answers with the module's HOOK_ID, so a
 * test can tell which hook ran.
 *
 * Parameters: restore=0 leaves the hook behind on unload; fail_init=1
 * installs the hook and then fails the init with -EINVAL.
 */
#ifndef _HANDOUT_HOOK_H
#define _HANDOUT_HOOK_H

#include <linux/farfetch.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static bool restore = true;
module_param(restore, bool, 0444);
MODULE_PARM_DESC(restore, "put the saved hook back on unload (default: yes)");

static bool fail_init;
module_param(fail_init, bool, 0444);
MODULE_PARM_DESC(fail_init, "install the hook, then fail the init (default: no)");

static farfetch_fn saved;

static long handout_farfetch(unsigned int cmd, void __user *addr,
			     pid_t target_pid, unsigned long target_addr,
			     size_t len)
{
	return HOOK_ID;
}

static int __init handout_hook_init(void)
{
	saved = farfetch_ptr;
	farfetch_ptr = handout_farfetch;
	return fail_init ? -EINVAL : 0;
}

static void __exit handout_hook_exit(void)
{
	if (restore)
		farfetch_ptr = saved;
}

module_init(handout_hook_init);
module_exit(handout_hook_exit);
MODULE_LICENSE("GPL");

#endif /* _HANDOUT_HOOK_H */
