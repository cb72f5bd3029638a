# The `make` of a module's folder (included by farfetch_pN/Makefile after its obj-m and ccflags-y,
# and copied into each part's Makefile of a student workspace). kbuild reads the Makefile too and
# needs only obj-m and ccflags-y: all of this is for the folder's own make.
ifeq ($(KERNELRELEASE),)
KDIR ?= /lib/modules/$(shell uname -r)/build

# A first build compiles three files: the module's own, then its .mod.c and kbuild's
# .module-common.c, which -j compiles side by side (one per vCPU). `make -jN` chooses for itself.
JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))

# kbuild takes seconds just to start under TCG (six makes parsing thousands of lines of
# Makefiles) even when nothing changed, so this make decides first, by the timestamps kbuild
# goes by: kbuild runs when the module is missing, or when a source, a header (here or in a
# folder ccflags-y adds), this Makefile or the kernel's build tree is newer than the start of
# the last build that succeeded. A file saved while a build ran is newer than that start; its
# object is removed first, because kbuild compares with the object, which is written after the
# compiler read the file. Variables kbuild reads from the command line or the environment
# (`make W=1`, KCFLAGS=...) are not in any timestamp: with them, kbuild always runs.
src := .
MODULES := $(obj-m:.o=.ko)
SOURCES := $(filter-out %.mod.c,$(wildcard *.c))
HEADERS := $(wildcard $(addsuffix /*.h,. $(patsubst -I%,%,$(filter -I%,$(ccflags-y)))))
OBJECTS := $(SOURCES:.c=.o)
KIT := $(wildcard $(KDIR)/Makefile $(KDIR)/Module.symvers $(KDIR)/.config)
OVERRIDES := $(MAKEOVERRIDES) $(foreach v,KCFLAGS KCPPFLAGS KAFLAGS KBUILD_EXTRA_SYMBOLS \
	W C CC LD LLVM ARCH CROSS_COMPILE,$(filter environment command%,$(origin $(v))))
MISSING := $(filter-out $(wildcard $(MODULES)),$(MODULES))
STARTED := .kbuild-started

all modules: $(STARTED)

$(STARTED): $(SOURCES) $(HEADERS) Makefile $(KIT) $(if $(strip $(OVERRIDES) $(MISSING)),FORCE)
	@touch $@.new
	@rm -f $(if $(filter-out $(SOURCES) FORCE,$?),$(OBJECTS),$(filter $(?:.c=.o),$(OBJECTS)))
	$(MAKE) $(JOBS) --no-print-directory -C $(KDIR) M=$(CURDIR) modules
	@mv $@.new $@

clean:
	$(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR) clean
	rm -f $(STARTED) $(STARTED).new

FORCE:

.PHONY: all modules clean FORCE
endif
