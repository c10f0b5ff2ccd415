"""``run.config`` and ``run.summary``: dict-like views that publish their changes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from nbtrack.sdk.bounds import check_config_size
from nbtrack.sdk.values import config_value, normalize_value


class Config(MutableMapping[str, Any]):
    """The run's config; every change is published (the sender debounces the upload)."""

    def __init__(self, initial: dict[str, Any],
                 publish: Callable[[dict[str, Any], list[str]], None]) -> None:
        self._data = {k: config_value(k, v) for k, v in initial.items()}
        check_config_size(self._data)
        self._publish = publish
        self._locked = False

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._publish({}, [key])

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Validate every value first, so a bad one changes nothing."""
        incoming = dict(*args, **kwargs)
        checked: dict[str, Any] = {}
        for key, value in incoming.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"config key {key!r}: keys must be non-empty strings")
            checked[key] = config_value(key, value)
        if self._locked:
            raise RuntimeError("the run has finished: its config can no longer change")
        check_config_size({**self._data, **checked})
        self._data.update(checked)
        self._publish(checked, [])

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self._data))

    def _lock(self) -> None:
        self._locked = True

    def __repr__(self) -> str:
        return f"Config({self._data!r})"


class Summary(MutableMapping[str, Any]):
    """The run's summary as the handler keeps it; writes override computed values."""

    def __init__(self, fetch: Callable[[], dict[str, Any] | None],
                 publish: Callable[[dict[str, Any], list[str]], None],
                 admit: Callable[[dict[str, Any]], None] = lambda update: None) -> None:
        self._fetch = fetch
        self._publish = publish
        self._admit = admit  # the run's summary bound (ValueError naming the key)
        self._final: dict[str, Any] | None = None

    def _current(self) -> dict[str, Any]:
        if self._final is not None:
            return self._final
        data = self._fetch()
        return data if data is not None else {}

    def __getitem__(self, key: str) -> Any:
        return self._current()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        self._publish({}, [key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def update(self, *args: Any, **kwargs: Any) -> None:
        incoming = dict(*args, **kwargs)
        checked = {}
        for key, value in incoming.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"summary key {key!r}: keys must be non-empty strings")
            checked[key] = config_value(key, value) if isinstance(value, dict) else \
                normalize_value(key, value)
        if self._final is not None:
            raise RuntimeError("the run has finished: its summary can no longer change")
        self._admit(checked)
        self._publish(checked, [])

    def _freeze(self, final: dict[str, Any]) -> None:
        self._final = final

    def as_dict(self) -> dict[str, Any]:
        return dict(self._current())

    def __repr__(self) -> str:
        return f"Summary({self._current()!r})"
