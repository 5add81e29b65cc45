# The network component's build: lwIP 2.1.3 from Debian's source package,
# fetched on first use by scripts/fetch-debian-source (private apt sources
# under build/, files checked by apt) and compiled with our lwipopts.h and
# arch/ into the kernel library, for the unikernel and for the posix
# platform.  Nothing of lwIP is in the repository.

LWIP_DIR   := $(BUILD)/lwip
LWIP_STAMP := $(LWIP_DIR)/.fetched

# The parts of lwIP the kernel uses: the core, IPv4 (with DHCP), IPv6 and
# Ethernet.  Files for features lwipopts.h turns off compile to nothing.
LWIP_SRCS := $(addprefix core/,init.c def.c inet_chksum.c ip.c mem.c memp.c \
	netif.c pbuf.c tcp.c tcp_in.c tcp_out.c udp.c) \
	$(addprefix core/ipv4/,dhcp.c etharp.c icmp.c ip4.c ip4_addr.c ip4_frag.c) \
	$(addprefix core/ipv6/,ethip6.c icmp6.c inet6.c ip6.c ip6_addr.c ip6_frag.c \
	mld6.c nd6.c) \
	netif/ethernet.c

NET_HEADERS := $(wildcard kernel/net/*.h kernel/net/lwip/*.h kernel/net/lwip/arch/*.h)
HEADERS += $(NET_HEADERS)
KERNEL_CFLAGS += -Ikernel/net/lwip -I$(LWIP_DIR)/src/include

# lwIP is someone else's code: its own warnings are not ours to fix.  nd6.c
# calls htonl, which lwipopts.h leaves to the C library: give it lwIP's.
LWIP_CFLAGS := -Wno-unused-but-set-variable -Wno-sign-compare -Wno-address \
	-Wno-type-limits -Wno-implicit-fallthrough '-Dhtonl(x)=lwip_htonl(x)'

LWIP_OBJS       := $(patsubst %.c,$(BUILD)/obj/lwip/%.c.o,$(LWIP_SRCS))
LWIP_POSIX_OBJS := $(patsubst %.c,$(BUILD)/posix/obj/lwip/%.c.o,$(LWIP_SRCS))
KERNEL_OBJS += $(LWIP_OBJS)

$(LWIP_STAMP): scripts/fetch-debian-source
	@scripts/fetch-debian-source lwip 2.1.3 $(LWIP_DIR)

$(addprefix $(LWIP_DIR)/src/,$(LWIP_SRCS)): $(LWIP_STAMP)

$(BUILD)/obj/lwip/%.c.o: $(LWIP_DIR)/src/%.c $(NET_HEADERS) $(LWIP_STAMP) Makefile kernel/net/net.mk
	@mkdir -p $(dir $@)
	@echo "  CC      lwip/$*.c" >&2
	@gcc $(KERNEL_CFLAGS) $(LWIP_CFLAGS) -c -o $@ $<

$(BUILD)/posix/obj/lwip/%.c.o: $(LWIP_DIR)/src/%.c $(NET_HEADERS) $(LWIP_STAMP) Makefile kernel/net/net.mk
	@mkdir -p $(dir $@)
	@echo "  CC      lwip/$*.c (posix)" >&2
	@gcc $(filter-out -ffreestanding,$(KERNEL_CFLAGS)) $(LWIP_CFLAGS) -c -o $@ $<

# Our own network code includes lwIP's headers: fetch before compiling it.
$(filter $(BUILD)/obj/kernel/net/%,$(KERNEL_OBJS)): $(LWIP_STAMP)
$(patsubst %,$(BUILD)/posix/obj/%.o,$(filter kernel/net/%,$(KERNEL_SRCS))): $(LWIP_STAMP)
$(BUILD)/posix/libkernel-posix.a: $(LWIP_POSIX_OBJS)
