# The project's build: C libraries for the unikernel (kernel components and
# platforms), set-up of the host, and the user-facing targets of the README.
#
#   make hello   set up the host, build, bake tests/hello and boot it in QEMU
#   make check   set up the host, build, run the whole test suite
#   make libs    build the component libraries the bake links (build/lib) and
#                what rumprun-cc adds to musl (build/libc: libc/extras.mk)
#   make iso     bake the demo app and burn it to build/hello.iso

BUILD   := build
LIBDIR  := $(BUILD)/lib
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := $(VENV)/bin

MUSL_INC := /usr/include/x86_64-linux-musl
GCC_INC  := $(shell gcc -print-file-name=include)

# Code that runs inside the unikernel: freestanding, no red zone (interrupts
# and traps may land on any stack), no SSE in kernel code (the app owns the
# xmm registers), no stack protector (FS is the app's until it sets it).
KERNEL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
	-ffreestanding -fno-stack-protector -fno-pie -fno-pic \
	-mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-ffunction-sections -fdata-sections -fno-omit-frame-pointer \
	-nostdinc -isystem $(MUSL_INC) -isystem $(GCC_INC) \
	-Ikernel/include

KERNEL_SRCS := $(shell find kernel -name '*.c' | sort)
BMK_SRCS    := $(wildcard platform/bmk/*.c)
X86_64_SRCS := $(wildcard platform/x86_64/*.c) $(wildcard platform/x86_64/*.S)
HW_SRCS     := $(wildcard platform/hw/*.c) $(wildcard platform/hw/*.S)
HW_SRCS     := $(filter-out platform/hw/kvmprobe.S,$(HW_SRCS))
XEN_SRCS    := $(wildcard platform/xen/*.c) $(wildcard platform/xen/*.S)
HEADERS     := $(shell find kernel/include platform -name '*.h')

KERNEL_OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(KERNEL_SRCS)) $(BUILD)/obj/gen/syscall_names.c.o
HW_OBJS     := $(patsubst %,$(BUILD)/obj/%.o,$(BMK_SRCS) $(X86_64_SRCS) $(HW_SRCS))
XEN_OBJS    := $(patsubst %,$(BUILD)/obj/%.o,$(BMK_SRCS) $(X86_64_SRCS) $(XEN_SRCS))

# Include paths by source directory, which is how the build enforces the
# layering: kernel code sees only kernel/include (the hypercall contract
# and its own headers); a platform directory sees its own headers and those
# of the layers it is built on (bmk, the core; x86_64, the processor code
# the hw and xen machines share).
INCLUDES_bmk    := -Iplatform/bmk/include
INCLUDES_x86_64 := $(INCLUDES_bmk) -Iplatform/x86_64/include
INCLUDES_hw     := $(INCLUDES_x86_64) -Iplatform/hw/include
INCLUDES_xen    := $(INCLUDES_x86_64) -Iplatform/xen/include
includes_for = $(if $(filter platform/%,$1),$(INCLUDES_$(word 2,$(subst /, ,$1))))

# Components with build steps of their own (a fetched library, generated
# sources) keep them in a fragment next to their code, e.g. kernel/net/net.mk
# (and libc/extras.mk, the apps' additions to musl).
# A fragment may append objects to KERNEL_OBJS or HW_OBJS and targets to
# LIBS; it is read before the rules below use those lists.
LIBS := $(LIBDIR)/libkernel.a $(LIBDIR)/libhw.a $(LIBDIR)/libxen.a $(LIBDIR)/kvmprobe.bin
include $(sort $(wildcard kernel/*/*.mk kernel/*.mk platform/*/build.mk libc/*.mk))

.PHONY: all libs hello check iso setup clean bench bench-net bench-fs syscalls
all: libs

libs: $(LIBS)

$(BUILD)/obj/%.c.o: %.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<" >&2
	@gcc $(KERNEL_CFLAGS) $(call includes_for,$<) -c -o $@ $<

$(BUILD)/obj/%.S.o: %.S $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	@echo "  AS      $<" >&2
	@gcc $(KERNEL_CFLAGS) $(call includes_for,$<) -c -o $@ $<

# System call names for messages, from the same header that numbers the
# app's system calls (musl's), so the two cannot disagree.
$(BUILD)/gen/syscall_names.c: $(MUSL_INC)/bits/syscall.h Makefile
	@mkdir -p $(dir $@)
	@echo "  GEN     $@" >&2
	@{ echo '/* Generated from $< by the Makefile. */'; \
	   echo '#include <kernel/syscall.h>'; \
	   echo 'static const char *const names[] = {'; \
	   awk '$$1 == "#define" && $$2 ~ /^SYS_/ && $$3 ~ /^[0-9]+$$/ { printf "\t[%s] = \"%s\",\n", $$3, substr($$2, 5) }' $<; \
	   echo '};'; \
	   echo 'const char *syscall_name(long nr)'; \
	   echo '{'; \
	   echo '	return nr >= 0 && nr < (long)(sizeof(names) / sizeof(names[0])) ? names[nr] : 0;'; \
	   echo '}'; } > $@

$(BUILD)/obj/gen/%.c.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<" >&2
	@gcc $(KERNEL_CFLAGS) -c -o $@ $<

$(LIBDIR)/libkernel.a: $(KERNEL_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@" >&2
	@rm -f $@ && ar rcs $@ $^

$(LIBDIR)/libhw.a: $(HW_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@" >&2
	@rm -f $@ && ar rcs $@ $^

$(LIBDIR)/libxen.a: $(XEN_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@" >&2
	@rm -f $@ && ar rcs $@ $^

# A tiny multiboot kernel that runs SSE code and exits with 0x2a through
# isa-debug-exit: the launcher boots it to learn whether KVM really works.
$(LIBDIR)/kvmprobe.bin: platform/hw/kvmprobe.S kernel/include/rumprun_abi.h
	@mkdir -p $(dir $@)
	@echo "  LD      $@" >&2
	@mkdir -p $(BUILD)/obj
	@gcc -m32 -c -Ikernel/include -o $(BUILD)/obj/kvmprobe.o $<
	@ld -m elf_i386 --build-id=none -Ttext=0x100000 -o $@ $(BUILD)/obj/kvmprobe.o

-include platform/posix/posix.mk

# Host set-up: Debian packages and the Python virtual environment.  The
# editable install is a plain path (.pth, editable_mode=compat), not an
# import hook, which would cost every start of the tools ~15 ms.
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml scripts/setup-host
	@scripts/setup-host
	@python3 -m venv $(VENV)
	@$(PY) -m pip install -q -e '.[test,cxx]' --config-settings editable_mode=compat >&2
	@touch $@

APP ?= tests/hello/hello.c

hello: setup libs
	@mkdir -p $(BUILD)/hello
	$(BIN)/rumprun-cc -O2 -o $(BUILD)/hello/hello $(APP)
	$(BIN)/rumprun-bake hw_generic $(BUILD)/hello/hello.bin $(BUILD)/hello/hello
	$(BIN)/rumprun qemu -i -e WORLD=unikernel $(BUILD)/hello/hello.bin -- 0

# The demo app burnt to a bootable ISO (BIOS and UEFI, CD or USB stick).
iso: setup libs
	@mkdir -p $(BUILD)/hello
	$(BIN)/rumprun-cc -O2 -o $(BUILD)/hello/hello $(APP)
	$(BIN)/rumprun-bake hw_generic $(BUILD)/hello/hello.bin $(BUILD)/hello/hello
	$(BIN)/rumprun iso --force -o $(BUILD)/hello.iso $(BUILD)/hello/hello.bin

# The Xen tests (tests/test_xen.py) need the Xen harness, built once into the
# user's cache (as root: debootstrap); when it cannot be built here, say so
# in one line and let pytest report those tests as skipped with the reason.
check: setup libs
	PY=$(PY) scripts/check-style
	@scripts/xen-harness --build >/dev/null || \
		echo "make check: the Xen tests will be skipped: the Xen harness cannot be built here (the line above says why)" >&2
	$(PY) -m pytest -q -rs tests

bench: setup libs
	$(PY) benchmarks/run.py

# The network benchmarks (wrk, a Linux microVM): benchmarks/README.md.
bench-net: setup libs
	$(PY) benchmarks/net_bench.py

# Read throughput of ISO 9660 and 9p shares: benchmarks/README.md.
bench-fs: setup libs
	$(PY) benchmarks/fs_bench.py

# docs/syscalls.md from the kernel's SYSCALL_REGISTER lines.
syscalls:
	python3 scripts/syscalls.py

clean:
	rm -rf $(BUILD)
