"""A bound on the memory a test may hold, so that a bug which makes memory grow without end (a tf.data
dataset that never ends, listed: 100-200 MB/s) fails that test instead of exhausting the machine; the
session goes on. tests/conftest.py installs it.

The test process: while a test runs (setup, call and teardown), a thread reads the process's resident
memory every 0.1 s and, past RESIDENT_LIMIT_MB, interrupts the test with OverLimit, which fails it; what
the test's frames held is then freed. Every process, this one and those the tests start (the CLI,
`make`'s stages, a cluster's workers): RLIMIT_DATA at DATA_LIMIT_MB, past which an allocation fails, so
a subprocess that grows without end exits with an error and fails its test.

Without such a bug, the largest process of the in-process tests, the cluster's and the benchmarks' holds
about 1.2 GB resident and 1.6 GB of data (2 cores)."""
import os
import resource
import signal
import threading
import time
import traceback

import pytest

RESIDENT_LIMIT_MB = 4096
DATA_LIMIT_MB = 6144

_armed = threading.Event()  # set while a test runs


class OverLimit(BaseException):
    """Not an Exception: neither the code under test (`except Exception`) nor hypothesis (which would
    run the test again to shrink it) catches it."""


def resident_mb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20


def _watch() -> None:
    main = threading.main_thread().ident
    while True:
        _armed.wait()
        if resident_mb() > RESIDENT_LIMIT_MB:
            signal.pthread_kill(main, signal.SIGUSR1)  # its handler runs in the main thread
        time.sleep(0.1)


def _interrupt(signum, frame) -> None:
    __tracebackhide__ = True
    if _armed.is_set():  # once per test, and never between tests
        _armed.clear()
        raise OverLimit(f"the test holds {resident_mb():,} MB of memory, more than the {RESIDENT_LIMIT_MB:,} MB "
                        "a test may (tests/memory_limit.py): a dataset that never ends?")


def install() -> None:
    """Cap this process's data and its children's, and start the thread that watches each test (once)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    caps = [limit for limit in (soft, hard) if limit != resource.RLIM_INFINITY]
    resource.setrlimit(resource.RLIMIT_DATA, (min([DATA_LIMIT_MB << 20, *caps]), hard))
    signal.signal(signal.SIGUSR1, _interrupt)
    if not any(t.name == "memory-limit" for t in threading.enumerate()):
        threading.Thread(target=_watch, name="memory-limit", daemon=True).start()


def _armed_while():
    _armed.set()
    try:
        return (yield)
    finally:
        _armed.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _armed_while())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _armed_while())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    return (yield from _armed_while())


def _free(tb) -> None:
    """Free what the frames of a traceback hold, and give the memory back to the system."""
    import ctypes

    for frame, _ in traceback.walk_tb(tb):
        if type(frame.f_locals) is dict:  # before Python 3.13, a copy of the locals that clear() leaves
            frame.f_locals.clear()
    traceback.clear_frames(tb)
    try:
        ctypes.CDLL(None).malloc_trim(0)  # glibc keeps freed memory otherwise
    except AttributeError:
        pass


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(OverLimit):
        _free(call.excinfo.tb)  # the report is written
    return report
