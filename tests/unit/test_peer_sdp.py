"""``without_rtx``: the Python peer declines RTX in Janus's subscription offers (issue 19).

The offer below is the shape Janus 1.1 sends a multistream subscriber (trimmed
to the lines that matter): two video m-lines sharing payload types 96 (VP8)
and 97 (its RTX), each with an SSRC group ``FID media rtx``.
"""

from __future__ import annotations

from chinwag.peer.sfu import without_rtx

JANUS_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1796648527324244 1 IN IP4 192.0.2.2",
        "s=VideoRoom 181364629469639",
        "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=ssrc:548587610 cname:janus",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=mid:1",
        "a=ssrc-group:FID 175354052 2569190429",
        "a=ssrc:175354052 cname:janus",
        "a=ssrc:2569190429 cname:janus",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=mid:2",
        "a=ssrc-group:FID 1335716463 1119256744",
        "a=ssrc:1335716463 cname:janus",
        "a=ssrc:1119256744 cname:janus",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "",
    ]
)


def test_rtx_payload_types_and_ssrcs_are_gone_and_the_rest_is_kept() -> None:
    lines = without_rtx(JANUS_OFFER).split("\r\n")
    assert "m=video 9 UDP/TLS/RTP/SAVPF 96" in lines
    assert lines.count("m=video 9 UDP/TLS/RTP/SAVPF 96") == 2
    assert not [line for line in lines if "rtx" in line or "apt=" in line or "FID" in line]
    assert "a=ssrc:2569190429 cname:janus" not in lines
    assert "a=ssrc:1119256744 cname:janus" not in lines
    kept = [line for line in JANUS_OFFER.split("\r\n") if line]
    gone = {
        "a=ssrc-group:FID 175354052 2569190429",
        "a=ssrc-group:FID 1335716463 1119256744",
        "a=ssrc:2569190429 cname:janus",
        "a=ssrc:1119256744 cname:janus",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
    }
    expected = [line.replace(" 96 97", " 96") for line in kept if line not in gone]
    assert [line for line in lines if line] == expected


def test_an_offer_without_rtx_is_unchanged() -> None:
    plain = "\r\n".join(
        ["v=0", "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=ssrc:1 cname:janus",
         "a=rtpmap:96 VP8/90000", ""]
    )  # fmt: skip
    assert without_rtx(plain) == plain
