// SPDX-License-Identifier: GPL-2.0
/*
 * lab_crash - a throwaway module for the lab's crash-detection test
 * (emulator/test/integration/crash-spoof.test.ts), built in the guest.
 *
 * Writing anything to /sys/kernel/debug/lab_crash/null_write makes the kernel
 * store through a NULL pointer (the file's private data, never set) in the
 * writer's context: a real oops. With
 * panic_on_oops=0 only the writing task dies and the machine runs on, so the
 * test can then run dmesg at the shell. Never loaded anywhere else.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>

static struct dentry *lab_crash_dir;

static ssize_t null_write(struct file *file, const char __user *buf,
			  size_t len, loff_t *ppos)
{
	/* simple_open() set it from the file's i_private, which is NULL */
	int *target = file->private_data;

	*target = 1;
	return len;
}

static const struct file_operations null_write_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = null_write,
	.llseek = noop_llseek,
};

static int __init lab_crash_init(void)
{
	lab_crash_dir = debugfs_create_dir("lab_crash", NULL);
	debugfs_create_file("null_write", 0200, lab_crash_dir, NULL,
			    &null_write_fops);
	return 0;
}

static void __exit lab_crash_exit(void)
{
	debugfs_remove_recursive(lab_crash_dir);
}

module_init(lab_crash_init);
module_exit(lab_crash_exit);
MODULE_DESCRIPTION("Oops on demand, for the lab's crash-detection test");
MODULE_LICENSE("GPL");
