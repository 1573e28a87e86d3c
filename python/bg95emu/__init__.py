"""bg95emu: a virtual Quectel BG95 module for tests.

    from bg95emu import Emulator
    with Emulator() as emu:
        port = serial.serial_for_url(emu.url)      # or emu.port (the tty)
        emu.faults.add(on="transfer", after_bytes=1000, action="data_reset")
        ...
        emu.state()["ftp"]["state"], emu.faults.fired(), emu.transcript()
"""

from .errors import ApiError, BinaryNotFound, EmulatorError, FaultError, NotFound, StartError
from .emulator import Emulator, Event, find_binary

__all__ = [
    "ApiError",
    "BinaryNotFound",
    "Emulator",
    "EmulatorError",
    "Event",
    "FaultError",
    "NotFound",
    "StartError",
    "find_binary",
]
