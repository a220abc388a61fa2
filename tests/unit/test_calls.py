"""The call book on its own: who is ringing or talking to whom."""

from __future__ import annotations

from chinwag.core.calls import CallBook


def test_invite_accept_hang_up() -> None:
    book = CallBook()
    assert book.follow("a", "b", "call-invite") == []
    assert book.partner_of("a") == "b" and not book.in_call("a")
    assert book.follow("b", "a", "call-accept") == ["b", "a"]
    assert book.in_call("a") and book.in_call("b") and book.active_pairs({"a"}) == 1
    assert sorted(book.follow("a", "b", "hang-up")) == ["a", "b"]
    assert book.partner_of("a") is None and book.partner_of("b") is None


def test_accept_from_someone_else_is_ignored() -> None:
    book = CallBook()
    book.follow("a", "b", "video-offer")
    assert book.follow("c", "a", "video-answer") == []
    assert not book.in_call("a")


def test_renegotiation_offer_changes_nothing() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.follow("b", "a", "call-accept")
    assert book.follow("b", "a", "video-offer") == []
    assert book.partner_of("b") == "a" and book.in_call("b")


def test_end_all_reaches_callers_and_partner() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.follow("b", "a", "call-accept")
    book.follow("c", "a", "call-invite")  # c rings a, who is busy
    partners, changed = book.end_all("a")
    assert partners == ["b", "c"] and sorted(changed) == ["a", "b"]
    assert book.partner_of("c") is None and not book.in_call("b")


def test_rename_follows_both_directions() -> None:
    book = CallBook()
    book.follow("a", "b", "call-invite")
    book.rename("b", "bee")
    assert book.partner_of("a") == "bee"
    assert book.follow("bee", "a", "call-accept") == ["bee", "a"]
    book.rename("a", "ay")
    assert book.partner_of("bee") == "ay"


def test_self_calls_are_not_tracked() -> None:
    book = CallBook()
    assert book.follow("a", "a", "call-invite") == []
    assert book.partner_of("a") is None
