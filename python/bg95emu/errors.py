"""Typed errors of bg95emu."""


class EmulatorError(Exception):
    """Base class of every bg95emu error."""


class BinaryNotFound(EmulatorError):
    """No `bg95-emu` binary: not in the wheel, not on PATH, $BG95_EMU unset."""


class StartError(EmulatorError):
    """The emulator did not start (bad options, a bad scenario file, ports taken)."""


class ApiError(EmulatorError):
    """The control API refused a request: `status` (HTTP), `message`, and `key` (the fault
    key it is about) or `cme` (a UFS error code) when it says so."""

    def __init__(self, status, message, key=None, cme=None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.key = key
        self.cme = cme


class FaultError(ApiError):
    """A fault the scenario loader refused (400, with the key it is about)."""


class NotFound(ApiError):
    """404: no such path, UFS file, fault or action."""
