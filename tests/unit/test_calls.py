"""The call state machine on its own: states, transitions, illegal moves."""

from __future__ import annotations

from chinwag.core.calls import CALL_MESSAGES, TRANSITIONS, CallBook, CallState, Outcome


def test_invite_accept_connected_hang_up() -> None:
    book = CallBook()
    assert book.follow("a", "b", "call-invite").outcome is Outcome.MOVED
    assert book.state_of("a") is CallState.RINGING and not book.in_call("a")
    assert book.partner_of("a") == "b" and book.involved("b")
    assert book.follow("b", "a", "call-accept").changed == ("b", "a")
    assert book.state_of("b") is CallState.CONNECTING and book.in_call("a")
    assert book.active_pairs({"a"}) == 1
    assert book.follow("a", "b", "call-connected").outcome is Outcome.MOVED
    assert book.state_of("a") is CallState.ACTIVE and book.state_of("b") is CallState.ACTIVE
    assert sorted(book.follow("a", "b", "hang-up").changed) == ["a", "b"]
    assert book.partner_of("a") is None and not book.involved("b")
    book.check()


def test_reference_offer_answer_is_a_call_without_call_connected() -> None:
    book = CallBook()
    book.follow("a", "b", "video-offer")
    book.follow("b", "a", "video-answer")
    assert book.in_call("a") and book.state_of("a") is CallState.CONNECTING


def test_accept_from_someone_else_is_ignored_but_not_refused() -> None:
    book = CallBook()
    book.follow("a", "b", "video-offer")
    assert book.follow("c", "a", "video-answer").outcome is Outcome.IGNORED
    assert not book.in_call("a")
    book.check()


def test_call_connected_outside_a_call_is_refused() -> None:
    book = CallBook()
    assert book.follow("a", "b", "call-connected").outcome is Outcome.REFUSED
    book.follow("a", "b", "call-invite")
    assert book.follow("a", "b", "call-connected").outcome is Outcome.REFUSED
    assert book.state_of("a") is CallState.RINGING


def test_renegotiation_offer_stays() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.follow("b", "a", "call-accept")
    assert book.follow("b", "a", "video-offer").outcome is Outcome.STAYED
    assert book.partner_of("b") == "a" and book.in_call("b")


def test_crossing_invites_make_one_call() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.follow("b", "a", "call-invite")
    book.check()
    assert book.follow("a", "b", "call-accept").outcome is Outcome.MOVED
    book.check()
    assert book.partner_of("a") == "b" and book.partner_of("b") == "a"
    book.follow("a", "b", "hang-up")
    book.rename("a", "ay")  # the KeyError of old: a stale ringing entry
    book.check()
    assert not book.involved("ay") and not book.involved("b")


def test_end_all_reaches_callers_and_partner() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.follow("b", "a", "call-accept")
    book.follow("c", "a", "call-invite")  # c rings a, who is busy
    partners, changed = book.end_all("a")
    assert partners == ["b", "c"] and sorted(changed) == ["a", "b"]
    assert book.partner_of("c") is None and not book.in_call("b")
    book.check()


def test_rename_follows_both_directions() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.rename("b", "bee")
    assert book.partner_of("a") == "bee"
    assert book.follow("bee", "a", "call-accept").changed == ("bee", "a")
    book.rename("a", "ay")
    assert book.partner_of("bee") == "ay"
    book.check()


def test_self_calls_are_not_tracked() -> None:
    book = CallBook()
    assert book.follow("a", "a", "call-invite").outcome is Outcome.IGNORED
    assert book.partner_of("a") is None


def test_a_callee_in_a_call_cannot_accept_another() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.follow("b", "a", "call-accept")
    book.follow("c", "b", "call-invite")
    assert book.follow("b", "c", "call-accept").outcome is Outcome.IGNORED
    assert book.partner_of("b") == "a"
    book.check()


def test_table_names_only_states_and_messages() -> None:
    assert {
        "call-invite",
        "video-offer",
        "call-accept",
        "video-answer",
        "call-decline",
        "hang-up",
        "call-connected",
    } == CALL_MESSAGES
    assert all(state is not CallState.ENDED for state, _ in TRANSITIONS)
