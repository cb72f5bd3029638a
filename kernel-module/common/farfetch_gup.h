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

/*
 * Pages taken per get_user_pages_remote() call for FAR_READ: one mmap lock
 * round and one walk for the whole batch.  A read of up to
 * FAR_GUP_STACK_BATCH pages keeps the array on the stack (128 bytes); a
 * longer one takes an array of up to a page of pointers, as
 * process_vm_readv() does, so that a 1 MiB read is one call.
 */
#define FAR_GUP_STACK_BATCH 16
#define FAR_GUP_MAX_BATCH (PAGE_SIZE / sizeof(struct page *))

/**
 * far_copy_page_to_user - copy from one of the target's pages to the caller
 * @page: the target's page (a reference is held)
 * @offset: where in the page the copy starts
 * @ubuf: the caller's buffer of @n bytes
 * @n: bytes to copy, at most PAGE_SIZE - @offset
 *
 * Called with no mmap lock held: a fault on @ubuf may take the caller's
 * lock, which is the target's own when the caller reads itself.  The page
 * reference keeps the page; reading it unlocked is what process_vm_readv()
 * does.
 *
 * Return: 0, or the number of bytes that could not be copied.
 */
static inline unsigned long far_copy_page_to_user(struct page *page,
						  unsigned int offset,
						  void __user *ubuf, size_t n)
{
	void *kaddr = kmap_local_page(page);
	unsigned long left = copy_to_user(ubuf, kaddr + offset, n);

	kunmap_local(kaddr);
	return left;
}

/**
 * far_gup_copy - Part 2: copy @len bytes between the caller and @mm
 * @mm: the target's address space (a reference is held)
 * @addr: the target address
 * @ubuf: the caller's buffer
 * @len: bytes to copy; clamped to MAX_RW_COUNT
 * @write: true copies from @ubuf into the target (FAR_WRITE)
 *
 * Works with get_user_pages_remote() and FOLL_FORCE, as ptrace does: pages
 * that were never touched are faulted in, copy-on-write is broken for
 * FAR_WRITE, and a read-only private mapping can be written.  The caller's
 * buffer is only touched while no mmap lock is held, so that a fault on it
 * cannot deadlock against the target's lock when the target is the caller
 * itself.  FAR_READ takes up to FAR_GUP_MAX_BATCH pages per call and copies
 * each straight to the caller once the lock is dropped.  FAR_WRITE goes
 * page by page through a kernel bounce buffer and writes the page under the
 * lock (see far_copy_page()).  A page counts when all of its bytes were
 * copied; get_user_pages_remote() stops a batch at the first page it cannot
 * have, and the next call returns that page's error.
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
	struct page *stack_pages[FAR_GUP_STACK_BATCH], **pages = stack_pages;
	size_t batch = 1, done = 0;
	void *bounce = NULL;
	ssize_t err = 0;

	len = min_t(size_t, len, MAX_RW_COUNT);
	if (write) {
		bounce = kmalloc(min_t(size_t, len, PAGE_SIZE), GFP_KERNEL);
		if (!bounce)
			return -ENOMEM;
	} else {
		batch = min_t(size_t, FAR_GUP_MAX_BATCH,
			      DIV_ROUND_UP(offset_in_page(addr) + len, PAGE_SIZE));
		if (batch > FAR_GUP_STACK_BATCH)
			pages = kmalloc_array(batch, sizeof(*pages),
					      GFP_KERNEL | __GFP_NOWARN);
		/* Without the array, smaller batches do the same work. */
		if (!pages) {
			pages = stack_pages;
			batch = FAR_GUP_STACK_BATCH;
		}
	}

	while (!err && done < len) {
		unsigned int offset = offset_in_page(addr + done);
		size_t n = min_t(size_t, len - done, PAGE_SIZE - offset);
		long nr = 1, got, i;

		if (!write)
			nr = min_t(size_t, batch,
				   DIV_ROUND_UP(offset + len - done, PAGE_SIZE));
		if (write && copy_from_user(bounce, ubuf + done, n)) {
			err = -EFAULT;
			break;
		}
		if (mmap_read_lock_killable(mm)) {
			err = -EINTR;
			break;
		}
		got = get_user_pages_remote(mm, addr + done, nr, gup_flags,
					    pages, NULL);
		if (write && got == 1)
			far_copy_page(pages[0], offset, bounce, n, true);
		mmap_read_unlock(mm);
		if (got <= 0) {
			err = got < 0 ? got : -EFAULT;
			break;
		}
		for (i = 0; i < got; i++) {
			n = min_t(size_t, len - done, PAGE_SIZE - offset);
			if (!write && !err &&
			    far_copy_page_to_user(pages[i], offset,
						  ubuf + done, n))
				err = -EFAULT;
			if (!err)
				done += n;
			put_page(pages[i]);
			offset = 0;
		}
	}
	kfree(bounce);
	if (pages != stack_pages)
		kfree(pages);
	/* done <= MAX_RW_COUNT, so it is a valid ssize_t. */
	return done ? (ssize_t)done : err;
	/* LAB: END SOLUTION */
}

#endif /* _FARFETCH_GUP_H */
