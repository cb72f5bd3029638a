
# ---- Farfetch'd Lab: try-run answers remembered (build/guest/kbuild-try-run-cache.mk) ----
# build/build-guest.sh renames try-run above to lab-try-run-uncached and appends this file.
# Every `make` of an external module asks the compiler about ~30 options (cc-option, as-instr,
# cc-disable-warning ..., all through try-run): ~30 runs of gcc, cc1 and as that under TCG are
# most of a build that compiles nothing. An answer depends only on the probe's command and on
# the compiler, which is the image's own: the image build runs one module build in the image's
# root (chroot) with LAB_TRY_RUN_RECORD=1, which writes each probe and its answer to
# $(lab-try-run-cache). Later builds read that file and run only the probes it does not hold (a
# module's own cc-option, say); they never write it, so a build as any user works.
lab-try-run-cache := $(abspath $(srctree))/.lab-try-run-cache.mk
-include $(lab-try-run-cache)

lab-empty :=
lab-lparen := (
lab-rparen := )
lab-tab := $(lab-empty)	$(lab-empty)

# A make variable name for the probe: its exact text, every character make gives a meaning to
# written as ^ and a letter (^ itself first, so that no two probes share a name).
lab-try-run-esc = $(subst $(lab-tab),^t,$(subst $(space),^s,$(subst $(lab-rparen),^p,$(subst $(lab-lparen),^o,$(1)))))
lab-try-run-esc-first = $(subst $(comma),^c,$(subst $(pound),^h,$(subst =,^e,$(subst :,^k,$(subst $$,^d,$(subst ^,^^,$(1)))))))
lab-try-run-key = lab-try-run.$(call lab-try-run-esc,$(call lab-try-run-esc-first,$(1)|$(2)|$(3)))

# Records an answer (exactly: leading blanks kept, `$` doubled) when recording; an answer with a
# `#` in it would read back cut short, so it is not recorded and is probed each time.
lab-try-run-record = $(if $(LAB_TRY_RUN_RECORD),$(if $(findstring $(pound),$(1)),,$(file >>$(lab-try-run-cache),$(2) := $$(lab-empty)$(subst $$,$$$$,$(1)))))$(1)

try-run = $(if $(filter undefined,$(origin $(lab-try-run-key))),$(call lab-try-run-record,$(call lab-try-run-uncached,$(1),$(2),$(3)),$(lab-try-run-key)),$($(lab-try-run-key)))
