"""The bg95 fixture driving a pyserial driver, as a user's test does."""

import json
import urllib.request

import pytest
import serial

from bg95emu import Emulator, FaultError, NotFound
from driver import Bg95Driver, ModemError

FILE = bytes(range(256)) * 4  # fixtures/ftp-root/all-bytes.bin


@pytest.fixture
def modem(bg95):
    d = Bg95Driver(bg95.url)
    d.boot()
    yield d
    d.close()


def test_get_over_socket(bg95, modem):
    modem.ftp_open(bg95.ftp_url)
    assert modem.get_com("all-bytes.bin") == FILE
    assert bg95.state()["ftp"]["state"] == "idle"
    assert bg95.state()["ftp"]["stat"] == 1


def test_data_reset_added_mid_test(bg95, modem):
    bg95.ufs["note.txt"] = b"kept"
    modem.ftp_open(bg95.ftp_url)
    # A fault added and removed again never fires.
    gone = bg95.faults.add(on="transfer", direction="upload", action="data_reset")
    assert gone.startswith("api-")
    bg95.faults.remove(gone)
    assert modem.get_to_ufs("all-bytes.bin", "a.bin") == (0, 1024)
    # Added while the session is open: the next download's data connection is reset
    # after 300 bytes, and the module says so (607).
    cut = bg95.faults.add(name="cut", on="transfer", after_bytes=300, action="data_reset")
    err, value = modem.get_to_ufs("all-bytes.bin", "b.bin")
    assert err == 607, (err, value)
    assert [f["name"] for f in bg95.faults.fired()] == [cut]
    assert '! fault "cut"' in bg95.transcript()
    assert [f["name"] for f in bg95.faults.list()] == ["cut"]
    assert bg95.ufs.list()["a.bin"] == 1024
    assert bg95.ufs["note.txt"] == b"kept"


def test_state_and_ufs(bg95, modem):
    s = bg95.state()
    assert s["powered"] is True and s["sim"]["present"] is True
    assert s["ftp"]["state"] == "closed"
    bg95.ufs["cert/ca.pem"] = b"PEM"
    assert modem.at('AT+QFLST="*"') == ['+QFLST: "cert/ca.pem",3']
    assert "cert/ca.pem" in bg95.ufs
    del bg95.ufs["cert/ca.pem"]
    assert bg95.ufs.list() == {}
    with pytest.raises(NotFound) as e:
        bg95.ufs["missing"]
    assert e.value.cme == 405


def test_action_now(bg95, modem):
    modem.at("AT+QIACT=1")
    assert bg95.state()["pdp"][0]["up"] is True
    bg95.action("pdp_lost", cid=1)
    assert modem.urc("+QIURC") == '"pdpdeact",1'
    assert bg95.state()["pdp"][0]["up"] is False
    assert [f["name"] for f in bg95.faults.fired()] == ["action-1"]


def test_events_stream(bg95, modem):
    events = bg95.events(timeout=30)
    modem.at("AT+CSQ")
    seen = []
    for ev in events:
        seen.append((ev.kind, ev.line))
        if ev.kind == "module" and "+CSQ" in ev.line:
            break
    events.close()
    assert ("host", "> AT+CSQ\\r") in seen


@pytest.mark.bg95(rfc2217=True, tcp=False, baud=115200)
def test_rfc2217_and_marker_options(bg95):
    assert bg95.url is None and bg95.rfc2217_url.startswith("rfc2217://")
    port = serial.serial_for_url(bg95.rfc2217_url, baudrate=115200, timeout=0.1)
    d = Bg95Driver.__new__(Bg95Driver)
    d.port, d.timeout, d.buf = port, 30.0, b""
    d.boot()
    assert d.at("AT+IPR?") == ["+IPR: 115200"]
    assert bg95.state()["baud"] == 115200
    port.dtr = False
    port.dtr = True
    d.at("AT")
    port.close()


def test_api_bad_requests(bg95):
    with pytest.raises(FaultError) as e:
        bg95.faults.add(on="time", after="1s", action="explode")
    assert e.value.status == 400
    assert e.value.key == "fault.action"
    assert e.value.message.startswith("fault.action: unknown variant `explode`, expected one of `dns_failure`")
    req = urllib.request.Request(bg95.control_url + "/v1/faults", data=b"{bad", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400
    assert json.loads(e.value.read())["error"].startswith("bad JSON: ")
    with pytest.raises(NotFound) as e:
        bg95.api("GET", "/v1/module/ftp")
    assert (e.value.status, e.value.message) == (404, "no such path: GET /v1/module/ftp")


def test_emulator_without_the_plugin():
    with Emulator(ftp=False) as emu:
        d = Bg95Driver(emu.url)
        d.boot()
        assert d.at("AT+CPIN?") == ["+CPIN: READY"]
        d.close()
    assert "> AT+CPIN?\\r" in emu.last_transcript
    assert not emu.running


def test_a_failed_test_carries_the_transcript(pytester):
    pytester.makepyfile(
        """
        import serial
        def test_fails(bg95):
            s = serial.serial_for_url(bg95.url, timeout=5)
            s.write(b"AT+GMR\\r")
            s.read_until(b"OK\\r\\n")
            assert False, "the driver did not like it"
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*bg95 transcript*", "*> AT+GMR*"])
