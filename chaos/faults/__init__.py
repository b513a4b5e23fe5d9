"""Fault injection (Jepsen's nemesis): declarations, the in-process fault layer, the network proxy.

* :mod:`chaos.faults.spec`: the ``faults:`` schema of an experiment.
* :mod:`chaos.faults.injector`: :class:`FaultLayer`, between a system under test and its
  adapters; :class:`ServerCrash`.
* :mod:`chaos.faults.proxy` and :mod:`chaos.faults.network`: a TCP proxy with Toxiproxy's
  faults, put in front of a real server by rewriting the store's address;
  :mod:`chaos.faults.relay` moves the bytes in a process of its own, driven over
  :mod:`chaos.faults.channel`; :mod:`chaos.faults.toxics` times each toxic.
"""

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
    from .injector import NEMESIS, FaultLayer, FaultyStore, ServerCrash
    from .network import FaultSetupError
    from .spec import FaultSpec

__getattr__, __dir__ = exports(
    __name__,
    {
        "NEMESIS": ".injector",
        "FaultLayer": ".injector",
        "FaultyStore": ".injector",
        "ServerCrash": ".injector",
        "FaultSetupError": ".network",
        "FaultSpec": ".spec",
    },
)

__all__ = ["NEMESIS", "FaultLayer", "FaultSetupError", "FaultSpec", "FaultyStore", "ServerCrash"]
