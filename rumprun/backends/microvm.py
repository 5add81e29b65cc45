"""QEMU's microvm machine: rumprun microvm.

A machine with no PCI bus, no VGA, no firmware tables to speak of: the
fastest QEMU boot there is.  Everything but the machine is the qemu
backend's (rumprun.backends.qemu): the console relay, the configuration
through fw_cfg (microvm has the device, with DMA), isa-debug-exit for the
status, detached guests, ps and stop.  What differs is the Machine below:

- `-M microvm` with the devices the hw platform uses: the PIT (clock
  calibration, idle), the 8259 PICs (interrupts), the RTC (wall time), the
  ISA serial port (the kernel's console; the programs' streams are on
  virtio-console, virtio-serial-device, as on the pc).  ioapic2=off keeps the 8 virtio-mmio
  transports on lines 5-12, which the PICs deliver; with the second
  IO-APIC they would sit on lines 24-47, which only an IO-APIC driver
  could take.  ACPI is off (the kernel powers off through isa-debug-exit).
- Devices are virtio over MMIO (virtio-net-device, virtio-blk-device,
  virtio-9p-device, virtio-serial-device), their modern interface
  (version 2); QEMU announces
  each used transport on the kernel command line it keeps in fw_cfg
  (auto-kernel-cmdline: virtio_mmio.device=SIZE@ADDR:IRQ), where the hw
  platform finds them.  No e1000: it needs PCI.
- QEMU's -kernel loader tries multiboot before PVH, so a hw image, which
  carries both, boots by multiboot here as on the pc machine.
- KVM when it works here (the qemu backend's cached probe), else TCG,
  without a warning: -D shows which.
"""

from rumprun.backends import qemu

MACHINE = "microvm,ioapic2=off,pic=on,pit=on,rtc=on,isa-serial=on,acpi=off,auto-kernel-cmdline=on"
# The virtio 1.x interface of the transports (version 2) rather than QEMU's
# default, the legacy one; the kernel speaks both.
MODERN_MMIO = ["-global", "virtio-mmio.force-legacy=false"]


def machine_args(qemu_path, accel, memory_mib, kernel):
    """QEMU with a microvm, ACCEL (tcg or kvm), isa-debug-exit and KERNEL."""
    return qemu.machine_args(qemu_path, accel, memory_mib, kernel, MACHINE) + MODERN_MMIO


def device_args(launch):
    return qemu.device_args(launch, transport="device")


def choose_accel(platform, qemu_path):
    return "kvm" if qemu.kvm_works(qemu_path)[0] else "tcg"


MICROVM = qemu.Machine(
    machine_args, device_args, qemu.check_loadable, choose_accel, transport="device"
)


def plan(launch, name=None, config_fd=qemu.CONFIG_FD):
    return qemu.plan(launch, name, config_fd, machine=MICROVM)


def run(launch):
    return qemu.run(launch, machine=MICROVM)
