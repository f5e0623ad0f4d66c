"""A model's URLs: taken in turn, a refusing one skipped until its interval is over or it
answers again, and still tried when nothing else is left."""

from __future__ import annotations

from proxy.upstream.pool import Health, Rotation, redact_url

A, B, C = "http://a:8000/v1", "http://b:8000/v1", "http://c:8000/v1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def firsts(rotation: Rotation, calls: int) -> list[str]:
    return [rotation.order()[0] for _ in range(calls)]


def test_calls_take_the_urls_in_turn() -> None:
    rotation = Rotation([A, B, C], Health(10.0))
    assert firsts(rotation, 6) == [A, B, C, A, B, C]
    assert rotation.order() == [A, B, C]  # each call can fall back on the others


def test_a_refusing_url_is_skipped_for_the_interval_then_tried_again() -> None:
    clock = Clock()
    health = Health(10.0, clock=clock)
    rotation = Rotation([A, B], health)
    health.refused(B, ConnectionRefusedError())
    assert firsts(rotation, 4) == [A, A, A, A]
    assert rotation.order()[-1] == B  # the last resort
    clock.now += 10.0
    assert sorted(firsts(rotation, 2)) == [A, B]


def test_an_answer_marks_a_url_up_at_once() -> None:
    health = Health(10.0, clock=Clock())
    rotation = Rotation([A, B], health)
    health.refused(A, ConnectionRefusedError())
    assert rotation.peek() == B
    health.answered(A)
    assert sorted(firsts(rotation, 2)) == [A, B]


def test_when_every_url_is_down_they_are_all_still_tried() -> None:
    health = Health(10.0, clock=Clock())
    rotation = Rotation([A, B], health)
    health.refused(A, ConnectionRefusedError())
    health.refused(B, ConnectionRefusedError())
    assert sorted(rotation.order()) == [A, B]


def test_models_on_one_server_share_its_health() -> None:
    health = Health(10.0, clock=Clock())
    one, other = Rotation([A, B], health), Rotation([B, A], health)
    health.refused(A, ConnectionRefusedError())
    assert firsts(one, 2) == [B, B] and firsts(other, 2) == [B, B]


def test_a_url_is_shown_without_its_credentials() -> None:
    assert redact_url("https://user:pw@gpu:8000/v1") == "https://gpu:8000/v1"
    assert redact_url(A) == A
