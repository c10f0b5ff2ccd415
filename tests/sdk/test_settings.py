from pathlib import Path

import pytest

from nbtrack.settings import resolve


def test_explicit_arguments_beat_the_environment(nbtrack_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_PROJECT", "from-env")
    monkeypatch.setenv("NBTRACK_MODE", "offline")
    s = resolve()
    assert (s.project, s.mode) == ("from-env", "offline")
    s = resolve(project="explicit", mode="disabled")
    assert (s.project, s.mode) == ("explicit", "disabled")
    assert s.root == nbtrack_dir
    assert s.run_dir.parent == nbtrack_dir / "runs"
    assert s.log_path.name == f"run-{s.run_id}.nbtrack"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"mode": "cloud"}, "mode='cloud'"),
    ({"resume": "sometimes", "id": "abc"}, "resume='sometimes'"),
    ({"resume": "must"}, "needs the id"),
    ({"id": "bad id!"}, "id='bad id!'"),
    ({"project": "a/b"}, "project='a/b'"),
    ({"mode": "online"}, "base_url"),
])
def test_bad_settings_name_the_argument(nbtrack_dir: Path, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        resolve(**kwargs)
    assert fragment in str(info.value)


def test_api_key_is_not_in_repr(nbtrack_dir: Path) -> None:
    s = resolve(mode="online", base_url="http://127.0.0.1:1", api_key="secret-key-123")
    assert "secret-key-123" not in repr(s)


def test_a_server_url_makes_online_the_default_mode(nbtrack_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_BASE_URL", "https://track.example.org/")
    s = resolve()
    assert s.mode == "online" and s.base_url == "https://track.example.org"
    assert resolve(mode="offline").mode == "offline"
    monkeypatch.setenv("NBTRACK_MODE", "local")
    assert resolve().mode == "local"


def test_api_key_from_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbtrack.client.localserver import netrc_key

    netrc_file = tmp_path / ".netrc"
    netrc_file.write_text("machine track.example.org login api password nbk-from-netrc\n")
    netrc_file.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc_file))
    assert netrc_key("https://track.example.org") == "nbk-from-netrc"
    assert netrc_key("https://other.example.org") is None


def test_tuning_comes_from_the_environment_once(nbtrack_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from nbtrack.sdk.runstream import pipeline_config

    defaults = resolve().tuning
    assert (defaults.max_unsent_mb, defaults.stop_poll_interval, defaults.stats_interval,
            defaults.console, defaults.capture_off) == (16.0, 10.0, 10.0, True, frozenset())
    monkeypatch.setenv("NBTRACK_MAX_PENDING_MB", "4")
    monkeypatch.setenv("NBTRACK_STOP_POLL_INTERVAL", "0.3")
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "off")
    monkeypatch.setenv("NBTRACK_CONSOLE", "off")
    monkeypatch.setenv("NBTRACK_CAPTURE_GIT", "off")
    tuning = resolve().tuning
    assert tuning.stats_interval == 0.0 and not tuning.console
    assert tuning.capture_off == frozenset({"git"})
    assert resolve(console="auto").tuning.console  # the argument beats the environment
    config = pipeline_config(tuning)
    assert config.max_unsent_bytes == 4 << 20 and config.stop_poll_interval == 0.3


def test_a_bad_tuning_value_falls_back_with_a_warning(
        nbtrack_dir: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "often")
    monkeypatch.setenv("NBTRACK_STOP_POLL_INTERVAL", "-1")
    tuning = resolve().tuning
    assert tuning.stats_interval == 10.0 and tuning.stop_poll_interval == 10.0
    assert "NBTRACK_STATS_INTERVAL" in caplog.text and "NBTRACK_STOP_POLL_INTERVAL" in caplog.text


def test_http_timeout_from_the_environment(nbtrack_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    assert resolve().tuning.http_timeout == 10.0
    monkeypatch.setenv("NBTRACK_HTTP_TIMEOUT", "1.5")
    assert resolve().tuning.http_timeout == 1.5
    for bad in ("0", "-2", "soon", "nan"):
        monkeypatch.setenv("NBTRACK_HTTP_TIMEOUT", bad)
        assert resolve().tuning.http_timeout == 10.0
    assert "NBTRACK_HTTP_TIMEOUT='nan' is not a positive number" in caplog.text
