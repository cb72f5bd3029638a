// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_p2 - Farfetch'd Part 2: FAR_READ and FAR_WRITE through
 * get_user_pages_remote(), page by page over the whole range.  Unlike Part 1
 * it faults pages in, breaks copy-on-write and writes into read-only private
 * mappings, as ptrace does.  The copy itself is far_gup_copy(), shared with
 * Part 3.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/farfetch.h>
#include <linux/module.h>

#include "farfetch_gup.h"
#include "farfetch_hook.h"

/**
 * p2_farfetch - the farfetch(2) hook of Part 2
 * @cmd: FAR_READ or FAR_WRITE
 * @addr: the caller's buffer
 * @target_pid: the target process
 * @target_addr: the address in the target
 * @len: bytes to copy, clamped to MAX_RW_COUNT
 *
 * Return: the bytes copied (fewer than @len if a later page fails); 0 if @len
 * is 0; -EINVAL for an unknown @cmd; -EPERM if the caller's effective uid is
 * not 0; -ESRCH if there is no such process or it has no mm; -EFAULT if
 * @target_addr is not below TASK_SIZE_OF(target) or the first page can't be
 * copied; -EINTR if killed while waiting for the mmap lock; -ENOMEM if no
 * bounce buffer could be had.
 */
static long p2_farfetch(unsigned int cmd, void __user *addr, pid_t target_pid,
			unsigned long target_addr, size_t len)
{
	/* LAB: BEGIN SOLUTION p2-farfetch */
	/* LAB: TODO p2-farfetch: the same checks as Part 1 (cmd, len, euid, */
	/* LAB: TODO p2-farfetch: the target, TASK_SIZE_OF()), then the whole */
	/* LAB: TODO p2-farfetch: range through far_gup_copy(). */
	/* LAB: STUB return -ENOSYS; */
	struct far_target target;
	long ret;

	if (cmd != FAR_READ && cmd != FAR_WRITE)
		return -EINVAL;
	if (!len)
		return 0;
	if (!uid_eq(current_euid(), GLOBAL_ROOT_UID))
		return -EPERM;
	ret = far_target_get_nr(target_pid, &target);
	if (ret)
		return ret;
	if (target_addr >= TASK_SIZE_OF(target.task))
		ret = -EFAULT;
	else
		ret = far_gup_copy(target.mm, target_addr, addr, len,
				   cmd == FAR_WRITE);
	far_target_put(&target);
	return ret;
	/* LAB: END SOLUTION */
}

static int __init farfetch_p2_init(void)
{
	return farfetch_hook_install(p2_farfetch);
}

static void __exit farfetch_p2_exit(void)
{
	farfetch_hook_remove(p2_farfetch);
}

module_init(farfetch_p2_init);
module_exit(farfetch_p2_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Farfetch'd Part 2: farfetch(2) through get_user_pages_remote()");
