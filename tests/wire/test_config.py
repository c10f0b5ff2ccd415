"""The W&B config format (nbtrack.wire.config): wrap and unwrap are inverses, ``_wandb`` is
the client's block and never the user's config."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nbtrack.wire import config

_keys = st.text(min_size=1, max_size=8).filter(lambda k: k != config.WANDB_KEY)
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8)


@given(st.dictionaries(_keys, _values, max_size=6))
def test_unwrap_inverts_wrap(user: dict[str, Any]) -> None:
    wrapped = config.wrap(user, metrics=[{"name": "loss", "goal": "min"}])
    assert config.unwrap(wrapped) == user
    assert config.unwrap(json.loads(wrapped)) == user  # the parsed form as well


def test_wrap_is_the_wire_format() -> None:
    wire = json.loads(config.wrap({"lr": 0.1, "_wandb": {"x": 1}}, [{"name": "acc"}]))
    assert wire == {"lr": {"value": 0.1}, "_wandb": {"value": {"m": [{"name": "acc"}]}}}
    assert json.loads(config.wrap({"lr": 0.1})) == {"lr": {"value": 0.1}}  # no metrics, no block


def test_unwrap_drops_the_wandb_block_and_reads_what_w_and_b_sends() -> None:
    raw = {"lr": {"value": 0.1, "desc": "rate"}, "plain": 3, "d": {"no": "value key"},
           "_wandb": {"value": {"t": {"1": [1]}}}}
    assert config.unwrap(json.dumps(raw)) == {"lr": 0.1, "plain": 3, "d": {"no": "value key"}}
    for bad in ("", "not json", "[1, 2]", None, 7):
        assert config.unwrap(bad) == {}


def test_the_wandb_block() -> None:
    assert config.wandb_block('{"_wandb": {"value": {"t": 1, "m": []}}}') == {"t": 1, "m": []}
    assert config.wandb_block({"_wandb": {"t": 2}}) == {"t": 2}  # not wrapped in value
    for none in ('{"lr": {"value": 1}}', '{"_wandb": 5}', '{"_wandb": {"value": 5}}', "", "x"):
        assert config.wandb_block(none) == {}
