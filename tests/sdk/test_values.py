import math

import numpy as np
import pytest

from nbtrack.sdk.values import is_plain, normalize


def test_nested_dicts_are_flattened_with_slashes() -> None:
    assert normalize({"val": {"loss": 1.0, "acc": {"top1": 0.5}}, "lr": 0.1}) == {
        "val/loss": 1.0, "val/acc/top1": 0.5, "lr": 0.1}


def test_numpy_scalars_and_arrays_become_python() -> None:
    out = normalize({"a": np.float32(1.5), "b": np.int64(3), "c": np.bool_(True),
                     "d": np.array([1, 2, 3]), "e": np.array(2.5)})
    assert out == {"a": 1.5, "b": 3, "c": True, "d": [1, 2, 3], "e": 2.5}
    assert type(out["b"]) is int and type(out["c"]) is bool


def test_nan_and_inf_are_kept() -> None:
    out = normalize({"n": float("nan"), "i": float("inf"), "m": np.float64("-inf")})
    assert math.isnan(out["n"]) and out["i"] == math.inf and out["m"] == -math.inf


@pytest.mark.parametrize("data, exc, fragment", [
    ({"": 1}, ValueError, "''"),
    ({"_step": 1}, ValueError, "_step"),
    ({1: 1.0}, TypeError, "1"),
    ({"obj": object()}, TypeError, "'obj'"),
    ({"x" * 300: 1}, ValueError, "longer than"),
    ({"big": list(range(20_000))}, ValueError, "'big'"),
    ({"deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}}, ValueError,
     "nested deeper"),
])
def test_bad_input_names_the_key(data: dict, exc: type, fragment: str) -> None:
    with pytest.raises(exc) as info:
        normalize(data)
    assert fragment in str(info.value)


def test_not_a_dict_is_refused() -> None:
    with pytest.raises(TypeError, match="dict"):
        normalize([1, 2])  # type: ignore[arg-type]


def test_fast_path_needs_known_keys_and_plain_values() -> None:
    known = {"a", "b"}
    assert is_plain({"a": 1.0, "b": 2}, known)
    assert not is_plain({"a": 1.0, "c": 2}, known)
    assert not is_plain({"a": np.float32(1)}, known)
