# The posix platform: the kernel components in an ordinary Linux process,
# over pthreads and the host's clocks, for fast tests of the kernel without
# booting anything.  Everything is compiled against musl's headers (the
# kernel's Linux ABI types) and linked statically with musl's libc.a, the
# same headers and structures the app sees in the unikernel.
#
#   make posix        build/posix/libkernel-posix.a and build/posix/libposix.a
#   make posix-tests  build/posix/tests/NAME from each tests/kernel/NAME.c
#
# A test program calls syscall_dispatch(nr, args) exactly as the app's
# syscall instruction would reach it.  Link the kernel library whole: the
# dispatcher gathers the handlers from the rumprun_syscalls section.

POSIX_BUILD := $(BUILD)/posix
MUSL_SPECS  := /usr/lib/x86_64-linux-musl/musl-gcc.specs

# The kernel's own flags; -ffreestanding goes (the process is hosted), the
# rest (no red zone, general registers only, musl headers) is harmless here
# and keeps the code the same as in the unikernel.
POSIX_KERNEL_CFLAGS := $(filter-out -ffreestanding,$(KERNEL_CFLAGS))
POSIX_CFLAGS := -specs=$(MUSL_SPECS) -std=gnu11 -O2 -g -Wall -Wextra \
	-Wno-unused-parameter -D_GNU_SOURCE -Ikernel/include -Iplatform/posix
POSIX_LDFLAGS := -static -no-pie

POSIX_SRCS      := $(wildcard platform/posix/*.c)
POSIX_KOBJS     := $(patsubst %,$(POSIX_BUILD)/obj/%.o,$(KERNEL_SRCS)) \
	$(POSIX_BUILD)/obj/gen/syscall_names.c.o
POSIX_POBJS     := $(patsubst %,$(POSIX_BUILD)/obj/%.o,$(POSIX_SRCS))
POSIX_TEST_SRCS := $(wildcard tests/kernel/*.c)
POSIX_TESTS     := $(patsubst tests/kernel/%.c,$(POSIX_BUILD)/tests/%,$(POSIX_TEST_SRCS))
POSIX_LIBS      := $(POSIX_BUILD)/libkernel-posix.a $(POSIX_BUILD)/libposix.a

.PHONY: posix posix-tests
posix: $(POSIX_LIBS)
posix-tests: $(POSIX_LIBS) $(POSIX_TESTS)

$(POSIX_BUILD)/obj/kernel/%.c.o: kernel/%.c $(HEADERS) Makefile platform/posix/posix.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $< (posix)" >&2
	@gcc $(POSIX_KERNEL_CFLAGS) -c -o $@ $<

$(POSIX_BUILD)/obj/gen/%.c.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (posix)" >&2
	@gcc $(POSIX_KERNEL_CFLAGS) -c -o $@ $<

$(POSIX_BUILD)/obj/platform/posix/%.c.o: platform/posix/%.c $(HEADERS) platform/posix/posix.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $<" >&2
	@gcc $(POSIX_CFLAGS) -c -o $@ $<

$(POSIX_BUILD)/libkernel-posix.a: $(POSIX_KOBJS)
	@echo "  AR      $@" >&2
	@rm -f $@ && ar rcs $@ $^

$(POSIX_BUILD)/libposix.a: $(POSIX_POBJS)
	@echo "  AR      $@" >&2
	@rm -f $@ && ar rcs $@ $^

$(POSIX_BUILD)/tests/%: tests/kernel/%.c $(wildcard tests/kernel/*.h) $(POSIX_LIBS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@" >&2
	@gcc $(POSIX_CFLAGS) -Itests/kernel $(POSIX_LDFLAGS) -o $@ $< \
		-Wl,--whole-archive $(POSIX_BUILD)/libkernel-posix.a -Wl,--no-whole-archive \
		$(POSIX_BUILD)/libposix.a

# The same test linked with a root file system archive object (made by
# rumprun/toolchain/rootfs.py): make build/posix/tests/NAME-rootfs POSIX_ROOTFS_OBJ=FILE.o
$(POSIX_BUILD)/tests/%-rootfs: tests/kernel/%.c $(wildcard tests/kernel/*.h) $(POSIX_LIBS) $(POSIX_ROOTFS_OBJ)
	@mkdir -p $(dir $@)
	@test -n "$(POSIX_ROOTFS_OBJ)" || { echo "POSIX_ROOTFS_OBJ=FILE.o is needed" >&2; exit 2; }
	@echo "  CCLD    $@" >&2
	@gcc $(POSIX_CFLAGS) -Itests/kernel $(POSIX_LDFLAGS) -o $@ $< $(POSIX_ROOTFS_OBJ) \
		-Wl,--whole-archive $(POSIX_BUILD)/libkernel-posix.a -Wl,--no-whole-archive \
		$(POSIX_BUILD)/libposix.a

# Kernel tests whose inputs a pytest makes and names on their command line
# (tests/kernel/inputs/NAME.c, e.g. disk images): make build/posix/inputs/NAME
$(POSIX_BUILD)/inputs/%: tests/kernel/inputs/%.c $(wildcard tests/kernel/*.h) $(POSIX_LIBS)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@" >&2
	@gcc $(POSIX_CFLAGS) -Itests/kernel $(POSIX_LDFLAGS) -o $@ $< \
		-Wl,--whole-archive $(POSIX_BUILD)/libkernel-posix.a -Wl,--no-whole-archive \
		$(POSIX_BUILD)/libposix.a
