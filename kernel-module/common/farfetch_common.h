/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the three Farfetch'd reference modules share: finding the target
 * process and its mm, and the Part 2 copy through get_user_pages_remote(),
 * which Part 3's read()/write() reuse.  Everything is static: each module
 * that includes this header gets its own copy, so no module depends on
 * another (Part 3 in particular must load on an unpatched kernel).
 */
#ifndef _FARFETCH_COMMON_H
#define _FARFETCH_COMMON_H

#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

/* The target of one call: both references are held until far_target_put(). */
struct far_target {
	struct task_struct *task;
	struct mm_struct *mm;
};

/**
 * far_target_get - take references on a process and its address space
 * @pid: the process, as a struct pid (the caller holds a reference)
 * @target: filled in on success
 *
 * Return: 0 on success; -ESRCH if there is no such process, or if it has no
 * mm (a kernel thread, or a process that is exiting).
 */
static inline int far_target_get(struct pid *pid, struct far_target *target)
{
	target->task = get_pid_task(pid, PIDTYPE_PID);
	if (!target->task)
		return -ESRCH;
	/* get_task_mm() returns NULL for kernel threads and exited tasks. */
	target->mm = get_task_mm(target->task);
	if (!target->mm) {
		put_task_struct(target->task);
		return -ESRCH;
	}
	return 0;
}

/**
 * far_target_get_nr - like far_target_get(), for a pid number in the
 * caller's pid namespace
 * @nr: the pid number
 * @target: filled in on success
 *
 * Return: 0, or -ESRCH as far_target_get().
 */
static inline int far_target_get_nr(pid_t nr, struct far_target *target)
{
	struct pid *pid = find_get_pid(nr);
	int ret;

	if (!pid)
		return -ESRCH;
	ret = far_target_get(pid, target);
	put_pid(pid);
	return ret;
}

static inline void far_target_put(struct far_target *target)
{
	mmput(target->mm);
	put_task_struct(target->task);
}

/**
 * far_copy_page - copy between a pinned page of the target and a buffer
 * @page: the target's page (a reference is held)
 * @offset: where in the page the copy starts
 * @buf: kernel buffer of @n bytes
 * @n: bytes to copy, at most PAGE_SIZE - @offset
 * @write: true copies @buf into the page (and marks the page dirty)
 */
static inline void far_copy_page(struct page *page, unsigned int offset,
				 void *buf, size_t n, bool write)
{
	void *kaddr = kmap_local_page(page);

	if (write)
		memcpy(kaddr + offset, buf, n);
	else
		memcpy(buf, kaddr + offset, n);
	kunmap_local(kaddr);
	/* Without this, a write into a file-backed page could be lost. */
	if (write)
		set_page_dirty_lock(page);
}

/**
 * far_gup_copy - Part 2: copy @len bytes between the caller and @mm
 * @mm: the target's address space (a reference is held)
 * @addr: the target address
 * @ubuf: the caller's buffer
 * @len: bytes to copy; clamped to MAX_RW_COUNT
 * @write: true copies from @ubuf into the target (FAR_WRITE)
 *
 * Works page by page with get_user_pages_remote() and FOLL_FORCE, as ptrace
 * does: pages that were never touched are faulted in, copy-on-write is
 * broken for FAR_WRITE, and a read-only private mapping can be written.
 * The caller's buffer is only touched while no mmap lock is held, so that a
 * fault on it cannot deadlock against the target's lock when the target is
 * the caller itself.
 *
 * Return: the number of bytes copied; if some pages were copied before an
 * error, that count; otherwise -EFAULT (a page that can't be had, or a bad
 * caller buffer), -EINTR (killed while waiting for the mmap lock) or
 * -ENOMEM (no bounce buffer).
 */
static inline ssize_t far_gup_copy(struct mm_struct *mm,
				   unsigned long addr, void __user *ubuf,
				   size_t len, bool write)
{
	unsigned int gup_flags = FOLL_FORCE | (write ? FOLL_WRITE : 0);
	size_t done = 0;
	ssize_t err = 0;
	void *bounce;

	len = min_t(size_t, len, MAX_RW_COUNT);
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < len) {
		unsigned int offset = offset_in_page(addr + done);
		size_t n = min_t(size_t, len - done, PAGE_SIZE - offset);
		struct page *page;
		long pinned;

		if (write && copy_from_user(bounce, ubuf + done, n)) {
			err = -EFAULT;
			break;
		}
		if (mmap_read_lock_killable(mm)) {
			err = -EINTR;
			break;
		}
		pinned = get_user_pages_remote(mm, addr + done, 1, gup_flags,
					       &page, NULL);
		mmap_read_unlock(mm);
		if (pinned != 1) {
			err = pinned < 0 ? pinned : -EFAULT;
			break;
		}
		far_copy_page(page, offset, bounce, n, write);
		put_page(page);
		if (!write && copy_to_user(ubuf + done, bounce, n)) {
			err = -EFAULT;
			break;
		}
		done += n;
	}
	kfree(bounce);
	return done ? done : err;
}

#endif /* _FARFETCH_COMMON_H */
