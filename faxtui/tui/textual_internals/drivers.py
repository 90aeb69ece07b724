"""The terminal drivers: subclasses of Textual's Linux driver. Written against Textual 8.2.8.

They reach into the Linux driver's private members: `_file` (the terminal its writer thread
writes to), `_writer_thread` and that thread's `_queue`, `_app`, `_debug`, the signal handlers
`_sigtstp_application` / `_sigcont_application`, and the input loop's `textual._parser` and
`textual._xterm_parser`; `driver_of` reads `App._driver`. What they do with it is described in
`faxtui.tui.wire`, which has the parts that need no Textual internals (`ScreenDiff`,
`DiffingOutput`, `TerminalOutput`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import queue
import selectors
import threading
import time
from codecs import getincrementaldecoder
from collections.abc import Callable
from typing import IO, Any

from textual.app import App
from textual.driver import Driver
from textual.geometry import Size

from faxtui.tui.wire import ENDING_WAIT, WAKE, DiffingOutput, ForgetNote, SizeNote, TerminalOutput

log = logging.getLogger("faxtui.tui.wire")


def driver_of(app: App[Any]) -> Driver | None:
    """The driver an app runs on (None before it starts and after it ends)."""
    return app._driver


def forget_screen(app: App[Any]) -> None:
    """Tell a `compact_driver` the screen's content is unknown: the next frames go out in full.
    Nothing with another driver."""
    forget = getattr(driver_of(app), "forget_screen", None)
    if forget is not None:
        forget()


def driver_ending(app: App[Any]) -> None:
    """Tell a `terminal_driver` the app is ending (SIGTERM, SIGHUP), so a terminal that takes no
    output cannot hold the exit up. Nothing with another driver. Safe in a signal handler."""
    ending = getattr(driver_of(app), "ending", None)
    if callable(ending):
        ending()


def compact_driver(base: type[Driver], size: Callable[[], Size | None]) -> type[Driver]:
    """A subclass of `base` (Textual's Linux driver: it writes through a writer thread to `_file`)
    whose output goes through a `DiffingOutput`.

    `size()` gives the size the app lays out for (None when not known yet); when it changes, the
    copy of the screen is dropped, so the full repaint that follows a resize goes out whole.
    """

    class CompactDriver(base):  # type: ignore[valid-type,misc]
        __doc__ = f"{base.__name__} sending only what changed on screen (see faxtui.tui.wire)."

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # The Linux driver's terminal file, which its writer thread will write to.
            terminal: IO[str] = self._file  # type: ignore[has-type]
            self._file = DiffingOutput(terminal)
            self._sent_size: tuple[int, int] | None = None

        def write(self, data: str) -> None:
            known = size()
            now = None if known is None else (known.width, known.height)
            if now != self._sent_size:
                self._sent_size = now
                super().write(SizeNote(now))
            super().write(data)

        def forget_screen(self) -> None:
            """Send the whole screen with the next frames (after something else wrote to the terminal)."""
            super().write(ForgetNote(""))

    CompactDriver.__name__ = CompactDriver.__qualname__ = f"Compact{base.__name__}"
    return CompactDriver



def terminal_driver(base: type[Driver]) -> type[Driver]:
    """A subclass of `base` (Textual's Linux driver) that ends the app when the terminal goes away,
    and never waits forever on a terminal that is gone:

    - a write that fails (`TerminalOutput`) or a read that ends (EOF, EIO) means the terminal is
      gone: the app is asked to exit (its unmount saves the state), and nothing more is written;
    - a SIGCONT restarts application mode only after this driver's own SIGTSTP (ctrl+z): Textual's
      restarted it on any SIGCONT, and the kernel sends one with the SIGHUP when the terminal hangs
      up; a terminal that is gone by the time the app is resumed ends it;
    - writes once the writer thread has ended are dropped; once the app is ending (`ending`, from
      its SIGTERM or SIGHUP handler), a terminal that takes nothing for `ENDING_WAIT` is given up
      on, and the last wait for the writer thread is bounded: Textual's waited forever on a full
      queue, whether no thread emptied it or the terminal took nothing.

    The class keeps `base`'s name: it is Textual's driver, kept from hanging.
    """

    class TerminalDriver(base):  # type: ignore[valid-type,misc]
        __doc__ = (f"{base.__name__} that ends the app when the terminal goes away"
                   " (see faxtui.tui.textual_internals.drivers).")

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._gone = threading.Event()
            self._stopped_by_us = False
            self._ending_since: float | None = None
            self._loop: asyncio.AbstractEventLoop | None = None
            terminal = self._file  # type: ignore[has-type]
            with contextlib.suppress(AttributeError, OSError, ValueError):
                self._file = TerminalOutput(terminal, self.terminal_gone)

        @property
        def terminal_is_gone(self) -> bool:
            return self._gone.is_set()

        def terminal_gone(self) -> None:
            """The terminal went away (closed, hung up, its connection dropped): end the app.
            From any thread, any number of times."""
            if self._gone.is_set():
                return
            self._gone.set()
            log.info("the terminal went away: exiting")
            loop = self._loop
            if loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop has closed: the app has ended
                    loop.call_soon_threadsafe(self._app.exit)

        def start_application_mode(self) -> None:
            self._loop = asyncio.get_running_loop()
            if self._gone.is_set() or (self.input_tty and not os.isatty(self.fileno)):
                self.terminal_gone()  # resumed, or started, on a terminal that is no more
                return
            super().start_application_mode()

        def ending(self) -> None:
            """The app is ending (SIGTERM, SIGHUP): from `ENDING_WAIT` seconds on, output the
            terminal does not take is dropped. Safe in a signal handler: the app's own thread may be
            the one waiting for room in the queue."""
            if self._ending_since is None:
                self._ending_since = time.monotonic()

        def _given_up(self) -> bool:
            since = self._ending_since
            if since is not None and time.monotonic() - since >= ENDING_WAIT:
                self.terminal_gone()  # as good as gone: it took nothing while the app was ending
            return self._gone.is_set()

        def write(self, data: str) -> None:
            if self._gone.is_set():
                return
            if self._writer_thread is None:
                super().write(data)  # not in application mode: Textual's own error
                return
            self._put(data)

        def _put(self, item: str | None) -> None:
            """Textual's `WriterThread.write` (a put that waits for room), waking to see whether to
            stop waiting; nothing is put for a thread that is stopped (suspended, closed) or dead."""
            thread = self._writer_thread
            while thread.is_alive() and not self._gone.is_set():
                try:
                    thread._queue.put(item, timeout=WAKE)
                    return
                except queue.Full:
                    if self._given_up():
                        return

        def close(self) -> None:
            """Textual's: stop the writer thread once it has written what is queued, but a terminal
            that is gone, or takes nothing while the app is ending, is not waited for."""
            thread = self._writer_thread
            if thread is None or not thread.is_alive():
                return
            if self._gone.is_set():
                with contextlib.suppress(queue.Full):
                    thread._queue.put_nowait(None)  # it drains into nothing, and ends on its own
                return
            self._put(None)
            while thread.is_alive() and not self._given_up():
                thread.join(WAKE)

        def _sigtstp_application(self, *args: Any) -> None:
            self._stopped_by_us = True
            super()._sigtstp_application(*args)

        def _sigcont_application(self, *args: Any) -> None:
            if not self._stopped_by_us:
                return  # not a resume: the hang-up's SIGCONT, or a `kill -CONT` of a running app
            self._stopped_by_us = False
            super()._sigcont_application(*args)

        def run_input_thread(self) -> None:
            """Textual's input loop (`LinuxDriver.run_input_thread`), except that a read of nothing
            from a terminal, or a failed read, is the terminal gone: the loop ends and says so.
            (Textual's went on reading nothing, at full speed, or panicked on EIO.)"""
            from textual._parser import ParseError
            from textual._xterm_parser import XTermParser

            fileno = self.fileno
            parser = XTermParser(self._debug)
            decode = getincrementaldecoder("utf-8")().decode
            selector = selectors.SelectSelector()
            selector.register(fileno, selectors.EVENT_READ)

            def read_once() -> bool:
                """Pass on what the terminal sent within 0.1 s; False if it is gone."""
                if selector.select(0.1):
                    try:
                        data = os.read(fileno, 1024 * 4)
                    except OSError as error:
                        return error.errno in (errno.EAGAIN, errno.EINTR)
                    if not data:
                        return not self.input_tty  # a pipe at its end: as Textual, wait on
                    for event in parser.feed(decode(data)):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
                return True

            try:
                while not self.exit_event.is_set():
                    if not read_once():
                        self.terminal_gone()
                        return
                for event in parser.tick():
                    self.process_message(event)
            finally:
                selector.close()
                with contextlib.suppress(EOFError, ParseError):
                    for _event in parser.feed(""):
                        pass

    TerminalDriver.__name__ = TerminalDriver.__qualname__ = base.__name__
    return TerminalDriver
