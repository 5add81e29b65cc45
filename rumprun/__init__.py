"""rumprun: build, bake and run x86_64 unikernels from ordinary C programs.

Module map:
  host      the source tree's paths, host prerequisites, running host tools
  note      the rumprun ELF note (shared with app-tools/rumprun-note.h)
  elfcheck  pyelftools checks of every ELF the tools read or write
  cc        rumprun-cc: the compiler wrapper (gcc + Debian's musl)
  bake      rumprun-bake: the final link of an app with kernel components
  model     the unikernel configuration (dataclasses) and its JSON renderer
  qemu      QEMU argument lists, the KVM probe, running guests over QMP
  guests    detached guests' state directories (rumprun ps / stop)
  launcher  the one function the launcher commands call (run a Launch)
  iso, virtualbox   bootable ISOs (pycdlib) and VirtualBox VMs
  cli       the rumprun launcher's click group
  clitools  how every entry point turns RumprunError into one line + exit 2
"""
