/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Part 2's copy through get_user_pages_remote(), which Part 3's read() and
 * write() reuse.  It knows nothing of the farfetch(2) hook, so Part 3, which
 * includes it, still loads on a kernel without the patch.
 */
#ifndef _FARFETCH_GUP_H
#define _FARFETCH_GUP_H

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "farfetch_common.h"

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
 * Each page is copied through a kernel bounce buffer: the caller's buffer is
 * only touched while no mmap lock is held, so that a fault on it cannot
 * deadlock against the target's lock when the target is the caller itself.
 * A page counts when all of its bytes were copied.
 *
 * Return: the number of bytes copied; if some pages were copied before an
 * error, that count; otherwise -EFAULT (a page that can't be had, or a bad
 * caller buffer), -EINTR (killed while waiting for the mmap lock or the
 * fault), -ENOMEM (no bounce buffer), or another error of
 * get_user_pages_remote().
 */
static inline ssize_t far_gup_copy(struct mm_struct *mm,
				   unsigned long addr, void __user *ubuf,
				   size_t len, bool write)
{
	/* LAB: BEGIN SOLUTION gup-copy */
	/* LAB: TODO gup-copy: page by page: get_user_pages_remote() with */
	/* LAB: TODO gup-copy: FOLL_FORCE (and FOLL_WRITE to write) under the */
	/* LAB: TODO gup-copy: target's mmap lock, copy with far_copy_page(), */
	/* LAB: TODO gup-copy: put_page().  Copy to and from the caller only */
	/* LAB: TODO gup-copy: without the mmap lock held (a bounce buffer), */
	/* LAB: TODO gup-copy: clamp len to MAX_RW_COUNT, and return the */
	/* LAB: TODO gup-copy: bytes of the pages copied, or the first page's */
	/* LAB: TODO gup-copy: error. */
	/* LAB: STUB return -ENOSYS; */
	unsigned int gup_flags = FOLL_FORCE | (write ? FOLL_WRITE : 0);
	size_t done = 0;
	ssize_t err = 0;
	void *bounce;

	len = min_t(size_t, len, MAX_RW_COUNT);
	bounce = kmalloc(min_t(size_t, len, PAGE_SIZE), GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < len) {
		unsigned int offset = offset_in_page(addr + done);
		size_t n = min_t(size_t, len - done, PAGE_SIZE - offset);
		struct page *page;
		long got;

		if (write && copy_from_user(bounce, ubuf + done, n)) {
			err = -EFAULT;
			break;
		}
		if (mmap_read_lock_killable(mm)) {
			err = -EINTR;
			break;
		}
		got = get_user_pages_remote(mm, addr + done, 1, gup_flags,
					    &page, NULL);
		if (got == 1) {
			far_copy_page(page, offset, bounce, n, write);
			put_page(page);
		}
		mmap_read_unlock(mm);
		if (got != 1) {
			err = got < 0 ? got : -EFAULT;
			break;
		}
		if (!write && copy_to_user(ubuf + done, bounce, n)) {
			err = -EFAULT;
			break;
		}
		done += n;
	}
	kfree(bounce);
	/* done <= MAX_RW_COUNT, so it is a valid ssize_t. */
	return done ? (ssize_t)done : err;
	/* LAB: END SOLUTION */
}

#endif /* _FARFETCH_GUP_H */
