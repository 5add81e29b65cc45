"""rumprun: build, bake and run x86_64 unikernels from ordinary C programs.

Module map:
  cli        the rumprun launcher's entry point: a plain launch through
             quick (no click), anything else through commands
  quick      the launch commands' flags read without click (the hot path)
  commands   the rumprun launcher's click group (flags -> model -> backend)
  model      the launch model (Launch), validated once; the kernel's JSON
  backends/  one module per platform, each with plan() and run():
             qemu (qemu, kvm, baremetal), iso, virtualbox
  console    relaying a guest's console (COM1, the programs' stdin, stdout
             and stderr ports); its exit status, cross-checked
  guests     registered guests' state directories (ps, stop, cont)
  qmp        QEMU's monitor through qemu.qmp's client
  toolchain/ cc (rumprun-cc), bake (rumprun-bake), configs (bake
             configurations), elfcheck (pyelftools checks), linkobjs
             (program and symbol tables), rootfs, note (the ELF note)
  images/    iso (bootable hybrid ISOs with pycdlib)
  abi        constants shared with C (kernel/include/rumprun_abi.h)
  host       the source tree's paths, host prerequisites, host tools
  output     writing the tools' own output (closed stdout, full disk)
  clitools   how every entry point turns a failure into one line + status
"""
