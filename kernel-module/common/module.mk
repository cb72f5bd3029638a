# A module folder's own `make` (kbuild reads the Makefile too, and needs only obj-m and ccflags-y
# from it). The lab's reference modules include this file; a workspace has it copied in.
ifeq ($(KERNELRELEASE),)
KDIR ?= /lib/modules/$(shell uname -r)/build

# A first build compiles three files: the module's own, then its .mod.c and kbuild's
# .module-common.c, which -j compiles side by side (one per vCPU). `make -jN` chooses for itself.
JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))

# kbuild takes seconds just to start under TCG (six makes parsing thousands of lines of
# Makefiles) even when nothing changed, so this make first asks whether kbuild has anything to
# do, from what kbuild itself recorded: the files each object was built from (its .cmd file;
# outside the kernel's tree), the folder's .c, .h and .S files, Makefile and Kbuild, and the
# kernel's build tree (its Makefile and Module.symvers). kbuild runs when one of them is newer
# than the start of the last build that succeeded (`.kbuild-started`) or is gone, when the
# module is missing, when the build tree is another one, or when a variable kbuild reads came
# from the command line or the environment (`make W=1`, KCFLAGS=...): those are in no
# timestamp, so such a build also forgets the stamp and the next plain `make` asks kbuild again.
# A file saved while a build ran, after the compiler had read it, is newer than that start but
# older than its object, which kbuild alone would keep: the objects built from a changed file
# (all of them for another kernel) are removed before kbuild runs.
MAKEFLAGS += --no-builtin-rules
STARTED := .kbuild-started
TREE := $(abspath $(KDIR))
MODULES := $(obj-m:.o=.ko)
CMD_FILES := $(wildcard .*.o.cmd */.*.o.cmd)
# A .cmd file's own inputs: absolute paths (the kernel's headers are relative to its tree), not
# the .mod.c that modpost writes anew each build.
cmd_inputs = $(filter-out %.mod.c,$(filter %.c %.h %.S,$(filter /%,$(file < $(1)))))
cmd_object = $(dir $(1))$(patsubst .%.cmd,%,$(notdir $(1)))
objects_from = $(foreach c,$(CMD_FILES),$(if $(filter $(1),$(call cmd_inputs,$(c))),$(call cmd_object,$(c))))
RECORDED := $(sort $(foreach c,$(CMD_FILES),$(call cmd_inputs,$(c))))
PRESENT := $(wildcard $(RECORDED))
GONE := $(filter-out $(PRESENT),$(RECORDED))
# (wildcard twice: a name with a space in it is two words, neither of them a file.)
LOCAL := $(wildcard $(filter-out %.mod.c,$(filter %.c %.h %.S,$(wildcard *.c *.h *.S */*.c */*.h */*.S))) Kbuild)
KIT := $(wildcard $(KDIR)/Makefile $(KDIR)/Module.symvers)
OVERRIDES := $(strip $(MAKEOVERRIDES) $(foreach v,KCFLAGS KCPPFLAGS KAFLAGS CFLAGS_MODULE \
	AFLAGS_MODULE LDFLAGS_MODULE KBUILD_EXTRA_SYMBOLS KBUILD_MODPOST_WARN W C CC LD LLVM LLVM_IAS \
	ARCH CROSS_COMPILE,$(filter environment command%,$(origin $(v)))))
OTHER_TREE := $(filter-out $(TREE),$(file < $(STARTED)))
MISSING := $(filter-out $(wildcard $(MODULES)),$(MODULES))

all modules: $(STARTED)

$(STARTED): $(PRESENT) $(LOCAL) Makefile $(KIT) $(if $(OVERRIDES)$(GONE)$(OTHER_TREE)$(MISSING),FORCE)
	$(file > $@.new,$(TREE))
	@rm -f $(filter %.o,$(if $(OTHER_TREE)$(filter $(KIT),$?),$(foreach c,$(CMD_FILES),$(call cmd_object,$(c))),$(call objects_from,$? $(GONE))))
	$(MAKE) $(JOBS) --no-print-directory -C $(KDIR) M=$(CURDIR) modules
	@$(if $(OVERRIDES),rm -f $@ $@.new,mv $@.new $@)

clean:
	$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) clean
	rm -f $(STARTED) $(STARTED).new

FORCE:

.PHONY: all modules clean FORCE
endif
