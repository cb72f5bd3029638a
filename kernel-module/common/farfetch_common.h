/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Farfetch'd reference modules share: finding the target process
 * and its mm, and copying between one of the target's pages and a kernel
 * buffer.  Part 2's copy through get_user_pages_remote() is in
 * farfetch_gup.h, so that Part 1 does not even include it.  Everything is
 * static: each module that includes this header gets its own copy, so no
 * module depends on another (Part 3 in particular must load on an unpatched
 * kernel).
 */
#ifndef _FARFETCH_COMMON_H
#define _FARFETCH_COMMON_H

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>

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
	/* LAB: BEGIN SOLUTION target-get */
	/* LAB: TODO target-get: take a reference on the task */
	/* LAB: TODO target-get: (get_pid_task()) and on its mm */
	/* LAB: TODO target-get: (get_task_mm(), NULL for a kernel thread or */
	/* LAB: TODO target-get: an exiting task); on failure drop what you */
	/* LAB: TODO target-get: took and return -ESRCH. */
	/* LAB: STUB return -ENOSYS; */
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
	/* LAB: END SOLUTION */
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
	/* LAB: BEGIN SOLUTION target-get-nr */
	/* LAB: TODO target-get-nr: the pid number names a struct pid */
	/* LAB: TODO target-get-nr: (find_get_pid()), which holds a reference */
	/* LAB: TODO target-get-nr: of its own: drop it once far_target_get() */
	/* LAB: TODO target-get-nr: is done. */
	/* LAB: STUB return -ENOSYS; */
	struct pid *pid = find_get_pid(nr);
	int ret;

	if (!pid)
		return -ESRCH;
	ret = far_target_get(pid, target);
	put_pid(pid);
	return ret;
	/* LAB: END SOLUTION */
}

/**
 * far_target_put - drop what far_target_get() took
 * @target: the target of the call
 */
static inline void far_target_put(struct far_target *target)
{
	/* LAB: BEGIN SOLUTION target-put */
	/* LAB: TODO target-put: drop both references far_target_get() took. */
	mmput(target->mm);
	put_task_struct(target->task);
	/* LAB: END SOLUTION */
}

/**
 * far_copy_page - copy between one of the target's pages and a buffer
 * @page: the target's page (a reference is held)
 * @offset: where in the page the copy starts
 * @buf: kernel buffer of @n bytes
 * @n: bytes to copy, at most PAGE_SIZE - @offset
 * @write: true copies @buf into the page (and marks the page dirty)
 *
 * The callers hold the target's mmap lock for reading, as access_remote_vm()
 * does, so the target cannot fork() meanwhile and share the page
 * copy-on-write with a child that would then see the write too.  Only
 * kernel memory is touched here, so nothing can fault on the caller's mm.
 */
static inline void far_copy_page(struct page *page, unsigned int offset,
				 void *buf, size_t n, bool write)
{
	/* LAB: BEGIN SOLUTION copy-page */
	/* LAB: TODO copy-page: map the page into the kernel */
	/* LAB: TODO copy-page: (kmap_local_page()), memcpy(), unmap it; a */
	/* LAB: TODO copy-page: page you wrote must be marked dirty */
	/* LAB: TODO copy-page: (set_page_dirty_lock()) or a write into a */
	/* LAB: TODO copy-page: file can be lost. */
	void *kaddr = kmap_local_page(page);

	if (write)
		memcpy(kaddr + offset, buf, n);
	else
		memcpy(buf, kaddr + offset, n);
	kunmap_local(kaddr);
	/* Without this, a write into a file-backed page could be lost. */
	if (write)
		set_page_dirty_lock(page);
	/* LAB: END SOLUTION */
}

#endif /* _FARFETCH_COMMON_H */
