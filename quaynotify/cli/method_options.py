"""`rule add`'s method config options, made from the FieldSpecs of the methods in the registry:
one option per config key (a key several methods take appears once), so that a method added
to the registry brings its options along."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from quaynotify.methods.base import Candidates, FieldSpec


@dataclass(frozen=True)
class Key:
    """One method config key as an option: the first method's FieldSpec, and every method
    (in registry order) that takes the key, with its wording."""

    spec: FieldSpec
    wordings: tuple[tuple[str, str], ...]  # (method, help)

    def help(self) -> str:
        """Methods that word the key alike are named together: "flowdock, hipchat: ..."."""
        grouped: dict[str, list[str]] = {}
        for method, text in self.wordings:
            grouped.setdefault(text, []).append(method)
        return " ".join(f"{', '.join(methods)}: {text}" for text, methods in grouped.items())

    def option(self) -> Any:
        spec = self.spec
        complete = None if spec.complete is None else _guarded(spec.complete)
        # The key's name in capitals by default, as every other option shows its value.
        metavar = spec.metavar or spec.name.upper()
        return typer.Option(
            None, spec.flag, help=self.help(), metavar=metavar, autocompletion=complete
        )


def keys() -> dict[str, Key]:
    """Every config key of every method in the registry, in registry order, each once."""
    from quaynotify.methods import METHODS

    specs: dict[str, FieldSpec] = {}
    wordings: dict[str, list[tuple[str, str]]] = {}
    for method in METHODS.values():
        for spec in method.fields:
            specs.setdefault(spec.name, spec)
            wordings.setdefault(spec.name, []).append((method.name, spec.option_help or spec.help))
    return {name: Key(spec, tuple(wordings[name])) for name, spec in specs.items()}


def taking_method_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command` takes the method options as keyword arguments (`**method_options`): Typer is
    shown its signature without them, and MethodOptionsCommand adds them as options."""
    own = inspect.signature(command, eval_str=True)
    kept = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    command.__signature__ = own.replace(parameters=kept)  # type: ignore[attr-defined]
    return command


class MethodOptionsCommand(typer.core.TyperCommand):
    """A command with one option per method config key after its --title option, added
    when they are first asked for (parsing, help, completion, the man page): the other
    commands of its group never import the methods."""

    AFTER = "title"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._made_from: tuple[Any, ...] | None = None
        self._added: list[Any] = []

    def get_params(self, ctx: Any) -> list[Any]:
        from quaynotify.methods import METHODS

        registry = tuple(METHODS.items())
        if registry != self._made_from:  # once per registry: Click compares options by identity
            # Its own options are whatever else it holds (the root adds the global ones).
            own = [p for p in self.params if not any(p is added for added in self._added)]
            at = [p.name for p in own].index(self.AFTER) + 1
            self._added = [_click_option(name, key) for name, key in keys().items()]
            self.params = [*own[:at], *self._added, *own[at:]]
            self._made_from = registry
        return list(super().get_params(ctx))


def _click_option(name: str, key: Key) -> Any:
    from typer.main import get_click_param
    from typer.models import ParamMeta

    option, _ = get_click_param(ParamMeta(name=name, default=key.option(), annotation=str | None))
    return option


def method_config_from(method: str, given: Mapping[str, str | None]) -> dict[str, Any]:
    """The method config from the options given (@FILE read where the key takes it); an
    option the method does not take is an error naming the ones it does."""
    from quaynotify.errors import UsageError
    from quaynotify.inputs import read_text_arg
    from quaynotify.methods import get_method

    known = keys()
    config = {
        name: read_text_arg(value, known[name].spec.flag) if known[name].spec.from_file else value
        for name, value in given.items()
        if value is not None
    }
    takes = {f.name: f.flag for f in get_method(method).fields}
    for name in config:
        if name not in takes:
            listed = ", ".join(flag for _, flag in sorted(takes.items())) or "no options"
            raise UsageError(
                f"{known[name].spec.flag} does not apply to --method {method} (it takes {listed})"
            )
    return config


def _guarded(complete: Candidates) -> Callable[[str], list[tuple[str, str]]]:
    def candidates(incomplete: str) -> list[tuple[str, str]]:
        try:
            return complete(incomplete)
        except Exception:  # a completion must never print a traceback into the user's prompt
            return []

    return candidates
