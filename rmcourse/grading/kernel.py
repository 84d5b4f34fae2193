"""The kernel a grading runs cells in: started in its box, without imports from its working
folder, ready as soon as it answers, and seen gone as soon as it is killed.

:class:`BoxedKernelManager` is the kernel manager :mod:`rmcourse.grading.execute` hands nbclient.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type, Unicode

from rmcourse.grading import box


def no_cwd_imports(command: list[str]) -> list[str]:
    """A kernel command whose imports never look in the working directory (the scratch folder,
    where student code writes): Python's ``-P`` keeps it off ``sys.path`` at start (a planted
    ``ipykernel_launcher.py`` is not run), and IPython's ``ignore_cwd`` keeps the shell from
    putting it back (a planted ``numpy.py`` would be imported by the setup cell, before the
    guard's install). ``-P`` needs Python 3.11: an older kernel does without it (the scratch
    folder is fresh at every start anyway)."""
    command = list(command)
    if sys.version_info >= (3, 11) and command[:2] == [sys.executable, "-m"]:
        command.insert(1, "-P")
    return [*command, "--IPKernelApp.ignore_cwd=True"]


class ReadyClient(AsyncKernelClient):
    """jupyter_client's client, less the idle time of its start: it is ready once the kernel
    has answered ``kernel_info`` and its iopub channel has delivered a message (as
    jupyter_client waits), without then waiting for 0.2 s of silence on iopub. What iopub still
    holds belongs to the start, not to a cell: nbclient keeps only the messages whose parent is
    the cell's request. About 0.2 s of each kernel start; a grading starts one or more."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = {}
            if reply.get("msg_type") == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)  # iopub is connected
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    wait_for_ready = _async_wait_for_ready  # the name nbclient calls (an alias in the base)


class BoxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel in a box (``box_kind`` empty: no box), with a
    :class:`ReadyClient`, and that sees a killed kernel gone within 10 ms (jupyter_client polls
    every 100 ms)."""

    box_kind = Unicode("").tag(config=True)
    box_scratch = Unicode("").tag(config=True)
    client_factory = Type(ReadyClient, klass=AsyncKernelClient)

    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        await super()._async_wait(pollinterval=0.01)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = no_cwd_imports(super().format_kernel_cmd(extra_arguments))
        if not self.box_kind:
            return command
        private = Path(self.connection_file).parent
        return box.wrap(self.box_kind, command, Path(self.box_scratch), private)
