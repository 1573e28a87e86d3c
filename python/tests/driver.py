"""A small pyserial driver of the kind the fixture is for: AT commands, FTP open, a file
download into UFS, a COM: download. Used by the tests as a user's driver would be."""

import re
import time

import serial


class ModemError(Exception):
    pass


class Bg95Driver:
    def __init__(self, url, timeout=30.0):
        self.port = serial.serial_for_url(url, timeout=0.1)
        self.timeout = timeout
        self.buf = b""

    def close(self):
        self.port.close()

    def _fill(self):
        chunk = self.port.read(65536)
        self.buf += chunk
        return chunk

    def read_until(self, pattern, timeout=None):
        """Wait for regex `pattern` (bytes); return (text before and including it, match)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                got, self.buf = self.buf[: m.end()], self.buf[m.end():]
                return got, m
            if time.monotonic() > deadline:
                raise ModemError(f"timeout waiting for {pattern!r}; got {self.buf[-300:]!r}")
            self._fill()

    def at(self, command, timeout=None):
        """Send an AT command; return its information lines (raises on ERROR)."""
        self.port.write(command.encode() + b"\r")
        got, m = self.read_until(rb"\r\n(OK|ERROR|\+CME ERROR: \d+)\r\n", timeout)
        if m.group(1) != b"OK":
            raise ModemError(f"{command}: {m.group(1).decode()}")
        body = got[: m.start()].decode("latin-1")
        return [l for l in body.split("\r\n") if l and not l.startswith("AT")]

    def urc(self, prefix, timeout=None):
        _, m = self.read_until(re.escape(prefix.encode()) + rb": ([^\r]*)\r\n", timeout)
        return m.group(1).decode()

    def boot(self):
        """Echo off. The boot URCs may have been read (and dropped by pyserial's open,
        which empties its input) or not: they come before the answer either way."""
        self.port.write(b"ATE0\r")
        self.read_until(rb"OK\r\n")

    def ftp_open(self, ftp_url):
        # ftp://user:password@host:port/
        m = re.match(r"ftp://([^:]+):([^@]+)@([^:]+):(\d+)/", ftp_url)
        user, password, host, port = m.groups()
        self.at("AT+QIACT=1")
        self.at(f'AT+QFTPCFG="account","{user}","{password}"')
        self.at(f'AT+QFTPOPEN="{host}",{port}')
        result = self.urc("+QFTPOPEN")
        if result != "0,0":
            raise ModemError(f"QFTPOPEN: {result}")

    def get_to_ufs(self, name, local):
        """AT+QFTPGET into UFS; returns (err, value) of the +QFTPGET URC."""
        self.at(f'AT+QFTPGET="{name}","UFS:{local}"')
        err, value = self.urc("+QFTPGET").split(",")
        return int(err), int(value)

    def get_com(self, name):
        """AT+QFTPGET to COM: the file's bytes."""
        self.port.write(f'AT+QFTPGET="{name}","COM:"\r'.encode())
        self.read_until(rb"\r\nCONNECT\r\n")
        got, m = self.read_until(rb"\r\nOK\r\n\r\n\+QFTPGET: (\d+),(\d+)\r\n", 60)
        err, length = int(m.group(1)), int(m.group(2))
        if err != 0:
            raise ModemError(f"QFTPGET: {err},{length}")
        return got[: m.start()]
