"""An smbus2-compatible I2C bus with emulated devices on it, and fault injection.

Devices are keyed by 7-bit address (the MAX30102 at 0x57 and the OLED at 0x3C share a bus).
A device is any object with ``i2c_write(data: bytes)`` (first byte = register pointer),
``i2c_read(n) -> bytes`` and a ``present`` flag. An address with no device, or an absent one,
raises ``OSError(121, 'Remote I/O error')``, as the Linux driver does on a NACK.

Each call (``read_byte_data``, ``i2c_rdwr`` ...) is one transaction, numbered from 0. Faults:

    bus.fail_next(2, errno=5)                       # the next two transactions fail
    bus.fail_on(lambda tx: tx.kind == "i2c_rdwr")  # every matching transaction fails
    bus.fail_on(pred, after_bytes=12, count=1)      # fails once, after 12 bytes were clocked out

``after_bytes`` makes a read fail part way: the device has already sent (and the MAX30102 has
already popped) those bytes, as on a real bus that breaks mid-transfer.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from smbus2 import i2c_msg

_I2C_M_RD = 0x0001
_BLOCK_MAX = 32  # SMBus block transfers carry at most 32 bytes; i2c_rdwr has no such limit


class I2CDevice(Protocol):
    present: bool

    def i2c_write(self, data: bytes) -> None: ...

    def i2c_read(self, n: int) -> bytes: ...


@dataclass(frozen=True)
class Transaction:
    """What a bus call asked for. ``reg`` is the register pointer written first, if any."""

    index: int
    kind: str
    addr: int
    reg: int | None = None
    length: int = 0  # bytes read
    data: bytes = b""  # bytes written after the register pointer


@dataclass
class _Fault:
    predicate: Callable[[Transaction], bool]
    errno: int
    after_bytes: int
    count: int | None  # None: forever
    hits: int = field(default=0)


class RecordingDevice:
    """A write-mostly device that records what it is sent: stands in for the SSD1306/SH1106
    OLED at 0x3C (control byte 0x00 = commands, 0x40 = display data)."""

    def __init__(self) -> None:
        self.present = True
        self.commands: list[int] = []
        self.data_bytes = 0

    def i2c_write(self, data: bytes) -> None:
        if data[:1] == b"\x00":
            self.commands += list(data[1:])
        elif data[:1] == b"\x40":
            self.data_bytes += len(data) - 1

    def i2c_read(self, n: int) -> bytes:
        return bytes(n)


def _oserror(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class EmulatedBus:
    """smbus2.SMBus look-alike: read/write_byte_data, read/write_i2c_block_data, i2c_rdwr."""

    def __init__(self, devices: Mapping[int, I2CDevice] | None = None, *, bus_number: int = 1,
                 record: bool = False) -> None:
        self.devices: dict[int, I2CDevice] = dict(devices or {})
        self.bus_number = bus_number
        self.log: list[Transaction] | None = [] if record else None
        self.closed = False
        self._index = 0
        self._faults: list[_Fault] = []

    # ---- fault injection -----------------------------------------------------------------
    def fail_next(self, n: int = 1, errno: int = errno_mod.EREMOTEIO, *, after_bytes: int = 0) -> None:
        """The next ``n`` transactions raise OSError(errno)."""
        self._faults.append(_Fault(lambda tx: True, errno, after_bytes, n))

    def fail_on(self, predicate: Callable[[Transaction], bool], errno: int = errno_mod.EREMOTEIO, *,
                after_bytes: int = 0, count: int | None = None) -> None:
        """Transactions for which ``predicate(tx)`` is true raise OSError(errno)."""
        self._faults.append(_Fault(predicate, errno, after_bytes, count))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _begin(self, kind: str, addr: int, reg: int | None = None, length: int = 0,
               data: bytes = b"") -> tuple[I2CDevice, _Fault | None]:
        if self.closed:
            raise ValueError("I2C bus is closed")
        tx = Transaction(self._index, kind, addr, reg, length, bytes(data))
        self._index += 1
        if self.log is not None:
            self.log.append(tx)
        fault = None
        for f in self._faults:
            if (f.count is None or f.hits < f.count) and f.predicate(tx):
                f.hits += 1
                fault = f
                break
        self._faults = [f for f in self._faults if f.count is None or f.hits < f.count]
        dev = self.devices.get(addr)
        if dev is None or not dev.present:
            raise _oserror(errno_mod.EREMOTEIO)
        if fault is not None and fault.after_bytes == 0:
            raise _oserror(fault.errno)
        return dev, fault

    @staticmethod
    def _read(dev: I2CDevice, n: int, fault: _Fault | None) -> bytes:
        if fault is not None:
            dev.i2c_read(min(n, fault.after_bytes))
            raise _oserror(fault.errno)
        return dev.i2c_read(n)

    # ---- smbus2 surface -------------------------------------------------------------------
    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        dev, fault = self._begin("read_byte_data", i2c_addr, register, 1)
        dev.i2c_write(bytes([register]))
        return self._read(dev, 1, fault)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        dev, fault = self._begin("write_byte_data", i2c_addr, register, 0, bytes([value]))
        if fault is not None:
            raise _oserror(fault.errno)
        dev.i2c_write(bytes([register, value & 0xFF]))

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int,
                            force: bool | None = None) -> list[int]:
        if length > _BLOCK_MAX:
            raise ValueError(f"Desired block length over {_BLOCK_MAX} bytes")
        dev, fault = self._begin("read_i2c_block_data", i2c_addr, register, length)
        dev.i2c_write(bytes([register]))
        return list(self._read(dev, length, fault))

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: Iterable[int],
                             force: bool | None = None) -> None:
        payload = bytes(int(b) & 0xFF for b in data)
        if len(payload) > _BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {_BLOCK_MAX} bytes")
        dev, fault = self._begin("write_i2c_block_data", i2c_addr, register, 0, payload)
        if fault is not None:
            raise _oserror(fault.errno)
        dev.i2c_write(bytes([register]) + payload)

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        """A read at the current register pointer (what i2cdetect -r uses to probe)."""
        dev, fault = self._begin("read_byte", i2c_addr, None, 1)
        return self._read(dev, 1, fault)[0]

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        _, fault = self._begin("write_quick", i2c_addr)
        if fault is not None:
            raise _oserror(fault.errno)

    def i2c_rdwr(self, *i2c_msgs: Any) -> None:
        """Combined transfer with repeated starts; read messages are filled in place."""
        if not i2c_msgs:
            return
        addr = i2c_msgs[0].addr
        first = i2c_msgs[0]
        reg = None if first.flags & _I2C_M_RD or first.len == 0 else bytes(first)[0]
        written = b"".join(bytes(m)[1:] if i == 0 else bytes(m) for i, m in enumerate(i2c_msgs)
                           if not m.flags & _I2C_M_RD)
        length = sum(m.len for m in i2c_msgs if m.flags & _I2C_M_RD)
        dev, fault = self._begin("i2c_rdwr", addr, reg, length, written)
        budget = None if fault is None else fault.after_bytes
        for m in i2c_msgs:
            if m.addr != addr:
                dev = self.devices.get(m.addr)
                if dev is None or not dev.present:
                    raise _oserror(errno_mod.EREMOTEIO)
            if m.flags & _I2C_M_RD:
                n = m.len if budget is None else min(m.len, budget)
                data = dev.i2c_read(n)
                ctypes.memmove(m.buf, data, len(data))
                if fault is not None:
                    budget -= n
                    if budget <= 0:
                        raise _oserror(fault.errno)
            else:
                dev.i2c_write(bytes(m))
        if fault is not None:
            raise _oserror(fault.errno)

    # ---- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> EmulatedBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["EmulatedBus", "I2CDevice", "RecordingDevice", "Transaction", "i2c_msg"]
