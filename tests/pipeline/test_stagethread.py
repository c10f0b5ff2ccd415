import threading

from nbtrack.pipeline.stagethread import StageThread


def test_starts_once_joins_with_a_deadline() -> None:
    release = threading.Event()
    runs: list[int] = []

    def target() -> None:
        runs.append(1)
        release.wait(5)

    st = StageThread(target, "nbtrack-test")
    assert st.join(0.01), "a thread never started counts as ended"
    assert st.start() and not st.start()
    assert st.alive and not st.join(0.1)
    release.set()
    assert st.join(5.0) and not st.alive
    assert runs == [1]
    assert any(t.name == "nbtrack-test" for t in threading.enumerate()) is False
