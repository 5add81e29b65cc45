/*
 * The virtual address space of an x86_64 image (hw or xen; 4-level paging), shared
 * by the C and assembly code; platform/README.md draws the same map.
 *
 *   0 .. 64 KiB                never mapped: null pointers fault
 *   64 KiB .. 1 GiB            free for programs at fixed addresses: static
 *                              executables are linked at 0x200000, 0x400000,
 *                              0x1000000, 0x8048000 ...; their brk follows
 *   1 GiB .. 2 GiB             the image window: virtual = physical + 1 GiB.
 *                              The image is loaded at 1 MiB physical, so its
 *                              symbols lie at 1 GiB + 1 MiB on, below 2 GiB
 *                              as the small code model of apps requires
 *   2 GiB .. 16 TiB            free for programs at fixed addresses
 *   16 TiB .. 127 TiB          the application area: the kernel places
 *                              mmaps, brk and stacks here
 *   0xffff800000000000 ..      the direct map: all physical memory (and the
 *                              first 4 GiB with its device memory), where
 *                              the page allocator's pages and page tables live
 *
 * boot.S runs at physical addresses until paging is on; it reaches its
 * symbols through PHYS() and jumps to the image window in long mode.
 */
#ifndef X86_64_LAYOUT_H
#define X86_64_LAYOUT_H

#ifdef __ASSEMBLER__
#define X86_UL(x) x
#else
#define X86_UL(x) x##UL
#endif

#define X86_IMAGE_VBASE X86_UL(0x40000000) /* the image window: PA + this */
#define X86_IMAGE_WINDOW X86_UL(0x40000000) /* its size: 1 GiB */
#define X86_DIRECT_MAP X86_UL(0xffff800000000000)
#define X86_DIRECT_MAP_SIZE X86_UL(0x0000400000000000) /* 64 TiB */
#define X86_NULL_GUARD X86_UL(0x10000)
#define X86_APP_AREA_LO X86_UL(0x0000100000000000)
#define X86_APP_AREA_HI X86_UL(0x00007f0000000000)
#define X86_USER_TOP X86_UL(0x0000800000000000) /* end of the lower canonical half */

#define PHYS(sym) ((sym)-X86_IMAGE_VBASE)

#endif
