// SPDX-License-Identifier: GPL-2.0
/*
 * farfetch_p3 - Farfetch'd Part 3: the same reads and writes as Part 2,
 * through a character device instead of a system call, so that it works on
 * an unpatched kernel.
 *
 *   mknod -m 0666 /dev/farfetch c $(awk '$2=="farfetch"{print $1}' /proc/devices) 0
 *   fd = open("/dev/farfetch", O_RDWR);
 *   ioctl(fd, any_request, &pid);        choose the target process
 *   lseek(fd, target_addr, SEEK_SET);    the file position is the address
 *   read(fd, buf, n) / write(fd, buf, n) FAR_READ / FAR_WRITE
 *
 * There is no root check: the node's permissions decide who may use it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>

#include "farfetch_gup.h"

#define FARFETCH_DEVICE_NAME "farfetch"

/* LAB: BEGIN SOLUTION p3-major */
/* LAB: TODO p3-major: keep the major register_chrdev() gives you: */
/* LAB: TODO p3-major: unregister_chrdev() needs it. */
static int major;
/* LAB: END SOLUTION */

/* Per open file: the target chosen with ioctl(). */
struct far_file {
	struct mutex lock;	/* protects pid */
	struct pid *pid;	/* NULL until ioctl() sets it; a reference is held */
};

static int far_open(struct inode *inode, struct file *file)
{
	/* LAB: BEGIN SOLUTION p3-open */
	/* LAB: TODO p3-open: each open file has its own target: allocate its */
	/* LAB: TODO p3-open: state (struct far_file) and keep it in */
	/* LAB: TODO p3-open: file->private_data. */
	/* LAB: STUB return -ENOSYS; */
	struct far_file *ff = kzalloc(sizeof(*ff), GFP_KERNEL);

	if (!ff)
		return -ENOMEM;
	mutex_init(&ff->lock);
	file->private_data = ff;
	return 0;
	/* LAB: END SOLUTION */
}

static int far_release(struct inode *inode, struct file *file)
{
	/* LAB: BEGIN SOLUTION p3-release */
	/* LAB: TODO p3-release: free what far_open() allocated, and drop the */
	/* LAB: TODO p3-release: pid's reference. */
	/* LAB: STUB return 0; */
	struct far_file *ff = file->private_data;

	put_pid(ff->pid);
	mutex_destroy(&ff->lock);
	kfree(ff);
	return 0;
	/* LAB: END SOLUTION */
}

/**
 * far_ioctl - choose the target process; the request number is ignored
 * @file: the open file
 * @request: ignored
 * @arg: user pointer to a pid_t
 *
 * The pid is kept as a struct pid, so that a later process that reuses the
 * number is not mistaken for the target.
 *
 * Return: 0; -EFAULT if @arg can't be read; -ESRCH if there is no such process.
 */
static long far_ioctl(struct file *file, unsigned int request,
		      unsigned long arg)
{
	/* LAB: BEGIN SOLUTION p3-ioctl */
	/* LAB: TODO p3-ioctl: read the pid_t at arg with get_user(), check */
	/* LAB: TODO p3-ioctl: that the process exists and keep it as a */
	/* LAB: TODO p3-ioctl: struct pid (find_get_pid()), so that a new */
	/* LAB: TODO p3-ioctl: process reusing the number is not mistaken for */
	/* LAB: TODO p3-ioctl: it. */
	/* LAB: STUB return -ENOSYS; */
	struct far_file *ff = file->private_data;
	struct task_struct *task;
	struct pid *pid;
	pid_t nr;

	if (get_user(nr, (pid_t __user *)arg))
		return -EFAULT;
	pid = find_get_pid(nr);
	if (!pid)
		return -ESRCH;
	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task) {
		put_pid(pid);
		return -ESRCH;
	}
	put_task_struct(task);

	mutex_lock(&ff->lock);
	put_pid(ff->pid);
	ff->pid = pid;
	mutex_unlock(&ff->lock);
	return 0;
	/* LAB: END SOLUTION */
}

/**
 * far_rw - read() and write(): Part 2's copy at the file position
 * @file: the open file
 * @ubuf: the caller's buffer
 * @count: bytes to copy
 * @ppos: the file position, which is the target address; advanced by the
 *        bytes copied
 * @write: true for write() (FAR_WRITE)
 *
 * Return: the bytes copied; -ESRCH if no target was chosen or it is gone (or
 * has no mm); -EFAULT, -EINTR, -ENOMEM as far_gup_copy().
 */
static ssize_t far_rw(struct file *file, char __user *ubuf, size_t count,
		      loff_t *ppos, bool write)
{
	/* LAB: BEGIN SOLUTION p3-rw */
	/* LAB: TODO p3-rw: the file position is the target address: Part 2's */
	/* LAB: TODO p3-rw: copy (far_gup_copy()) at *ppos, -ESRCH before */
	/* LAB: TODO p3-rw: ioctl() chose a target, no root check, and */
	/* LAB: TODO p3-rw: advance *ppos by the bytes copied. */
	/* LAB: STUB return -ENOSYS; */
	struct far_file *ff = file->private_data;
	unsigned long addr = (unsigned long)*ppos;
	struct far_target target;
	ssize_t ret;

	mutex_lock(&ff->lock);
	ret = ff->pid ? far_target_get(ff->pid, &target) : -ESRCH;
	mutex_unlock(&ff->lock);
	if (ret)
		return ret;
	if (!count)
		ret = 0;
	else if (addr >= TASK_SIZE_OF(target.task))
		ret = -EFAULT;
	else
		ret = far_gup_copy(target.mm, addr, ubuf, count, write);
	far_target_put(&target);
	if (ret > 0)
		*ppos += ret;
	return ret;
	/* LAB: END SOLUTION */
}

static ssize_t far_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	return far_rw(file, ubuf, count, ppos, false);
}

static ssize_t far_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	/* far_gup_copy() only reads from the buffer when writing. */
	return far_rw(file, (char __user *)ubuf, count, ppos, true);
}

static const struct file_operations far_fops = {
	.owner = THIS_MODULE,
	/* File positions are addresses: no offset is "negative". */
	.fop_flags = FOP_UNSIGNED_OFFSET,
	.open = far_open,
	.release = far_release,
	.unlocked_ioctl = far_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_seek_end_llseek,
	.read = far_read,
	.write = far_write,
};

static int __init farfetch_p3_init(void)
{
	/* LAB: BEGIN SOLUTION p3-init */
	/* LAB: TODO p3-init: register a character device named */
	/* LAB: TODO p3-init: FARFETCH_DEVICE_NAME with a major the kernel */
	/* LAB: TODO p3-init: picks (register_chrdev() with 0): /proc/devices */
	/* LAB: TODO p3-init: then shows it, and mknod makes /dev/farfetch */
	/* LAB: TODO p3-init: from it. */
	/* LAB: STUB return 0; */
	/* 0: let the kernel pick a free major; /proc/devices shows which. */
	major = register_chrdev(0, FARFETCH_DEVICE_NAME, &far_fops);
	if (major < 0)
		return major;
	pr_info("registered with major %d\n", major);
	return 0;
	/* LAB: END SOLUTION */
}

static void __exit farfetch_p3_exit(void)
{
	/* LAB: BEGIN SOLUTION p3-exit */
	/* LAB: TODO p3-exit: unregister the device farfetch_p3_init() */
	/* LAB: TODO p3-exit: registered. */
	/* A leftover /dev/farfetch now fails to open with -ENXIO. */
	unregister_chrdev(major, FARFETCH_DEVICE_NAME);
	/* LAB: END SOLUTION */
}

module_init(farfetch_p3_init);
module_exit(farfetch_p3_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Farfetch'd Part 3: another process's memory through /dev/farfetch");
