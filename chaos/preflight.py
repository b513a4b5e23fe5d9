"""Preflight: everything about an experiment that can be known without running it.

The schema (:mod:`chaos.experiment`) checks the file's shape; preflight checks what the file
refers to, by loading it: the system's module imports (an exception on import, ``SystemExit``
included, is a problem, not a crash), the system has a method for every operation the workload
or the exploration asks for, every model resolves and judges those operations, every adapter
exists and accepts its settings, and no two roles of a system are bound to one store unless
the experiment says so. ``chaos validate`` prints what it finds; ``chaos run`` refuses to
start with any of it, before a store is opened: a typo is bad input (exit 3), never a finding.
"""

from __future__ import annotations

import inspect
from typing import Any

from .experiment import CheckSpec, ExperimentError, LoadedExperiment, Problem
from .system import SystemCodeError, SystemLoadError, bind_roles, resolve

HOOKS = frozenset({"setup", "close", "request", "explain", "actors", "roles", "operation_names", "option_problems"})
"""Methods of a system that are hooks, not operations."""


def operation_names(system: type, settings_by_role: dict[str, dict[str, Any]]) -> set[str]:
    """The operations ``system`` offers: its public methods, or what its ``operation_names``
    hook says (a system whose operations are configured, like the http system's templates)."""
    hook = getattr(system, "operation_names", None)
    if callable(hook):
        return set(hook(settings_by_role))
    return {
        name
        for name, member in inspect.getmembers(system)
        if not name.startswith("_") and name not in HOOKS and callable(member)
    }


def problems(loaded: LoadedExperiment) -> list[Problem]:
    """Every problem preflight finds, each at its path and line."""
    experiment = loaded.experiment
    found: list[Problem] = []
    at = loaded.problem

    # stores: adapter names and settings
    from adapters import BACKENDS, AdapterError, create

    for name, spec in experiment.stores.items():
        if spec.adapter not in BACKENDS:
            found.append(
                at(
                    ("stores", name, "adapter"),
                    f"unknown adapter {spec.adapter!r}; known: {', '.join(sorted(BACKENDS))}",
                )
            )
            continue
        try:
            create(spec.adapter, spec.settings, "preflight", concurrency=experiment.concurrency)
        except AdapterError as exc:
            located = getattr(exc, "problems", None)
            if located:  # each at its setting's own path and line, as every other problem is
                for where, message in located:
                    found.append(at(("stores", name, "settings", *where), loaded.secrets.clean(message)))
            else:
                found.append(at(("stores", name, "settings"), loaded.secrets.clean(str(exc))))
        except ImportError as exc:
            found.append(at(("stores", name, "adapter"), f"adapter {spec.adapter!r} cannot be imported: {exc}"))

    # the system: import, roles, operations
    offered: set[str] | None = None
    try:
        system = resolve(experiment.system.name)
    except SystemLoadError as exc:
        found.append(at(("system",), loaded.secrets.clean(str(exc))))
        system = None
    if system is not None:
        try:
            roles = bind_roles(system, experiment.system.stores, list(experiment.stores))
        except SystemLoadError as exc:
            found.append(at(("system", "stores"), str(exc)))
            roles = {}
        settings = {
            role: dict(experiment.stores[store].settings) for role, store in roles.items() if store in experiment.stores
        }
        offered = operation_names(system, settings)
        check_options = getattr(system, "option_problems", None)
        if callable(check_options):
            options = dict(experiment.system.options)
            try:
                for option, message in dict(check_options(options)).items():
                    found.append(at(("system", "options", option), loaded.secrets.clean(str(message))))
            except Exception as exc:  # the hook is the user's code too
                raise SystemCodeError("option_problems()", exc) from exc
        label = experiment.system.name
        for f, weight in experiment.workload.mix.items():
            if weight > 0 and f not in offered:
                found.append(at(("workload", "mix", f), _no_operation(label, f, offered)))
        for index, f in enumerate(experiment.explore.operations or []):
            if f not in offered:
                found.append(at(("explore", "operations", index), _no_operation(label, f, offered)))

    # models
    from .models import get_model

    wanted = _wanted(experiment)
    if offered is not None:
        wanted &= offered  # an operation the system lacks is one problem, not one more per model
    for index, check in enumerate(experiment.checks):
        if not isinstance(check, CheckSpec):
            continue  # a transactional check judges transactions, whatever their operations
        try:
            model = get_model(check.model)
        except Exception as exc:  # a user's model module may raise anything on import
            found.append(at(("checks", index, "model"), loaded.secrets.clean(str(exc) or type(exc).__name__)))
            continue
        supported = getattr(model, "operations", None)
        if supported is not None:
            missing = sorted(wanted - set(supported))
            if missing:
                found.append(
                    at(
                        ("checks", index, "model"),
                        f"model {model.name!r} does not judge "
                        f"{', '.join(missing)} (it knows {', '.join(sorted(supported))})",
                    )
                )
    return found


def _wanted(experiment: Any) -> set[str]:
    mix = {f for f, w in experiment.workload.mix.items() if w > 0}
    return set(experiment.explore.operations or mix) if experiment.mode == "explore" else mix


def _no_operation(system: str, f: str, offered: set[str]) -> str:
    known = ", ".join(sorted(offered)) or "none"
    return f"system {system!r} has no operation {f!r} (its operations: {known})"


def preflight(loaded: LoadedExperiment) -> None:
    """Raise :class:`~chaos.experiment.ExperimentError` with every problem found."""
    found = problems(loaded)
    if found:
        raise ExperimentError(loaded.source, found)


__all__ = ["HOOKS", "operation_names", "preflight", "problems"]
