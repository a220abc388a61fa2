"""TLS for HTTPS and WSS on the one port: a given certificate, or a self-signed one.

``server_context(settings)`` returns the ``ssl.SSLContext`` handed to
``create_server`` (or None for plain HTTP). With ``self_signed`` it makes,
once, an ECDSA P-256 certificate valid for a year for this machine's names
and addresses (``localhost``, the host name, every interface address,
``127.0.0.1`` and ``::1``) and keeps it in the state directory
(``$CHINWAG_STATE_DIR``, else ``$XDG_CACHE_HOME/chinwag``, else
``~/.cache/chinwag``); it is made again when it nears expiry or the machine's
addresses change. Generating needs the ``cryptography`` package
(the ``tls`` extra: ``pip install -e '.[tls]'`` in a checkout).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fcntl
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from ..config import ConfigError, Settings
from ..extras import require
from .streams import StreamTransport

__all__ = [
    "Certificate",
    "accept_tls",
    "local_addresses",
    "self_signed",
    "server_context",
    "state_dir",
]

log = logging.getLogger("chinwag.transport.tls")

_CERT_FILE: Final = "self-signed-cert.pem"
_KEY_FILE: Final = "self-signed-key.pem"
_VALIDITY: Final = datetime.timedelta(days=365)
_RENEW_BEFORE: Final = datetime.timedelta(days=30)
_SIOCGIFADDR: Final = 0x8915  # Linux ioctl: the IPv4 address of one interface


@dataclass(frozen=True, slots=True)
class Certificate:
    """Where a certificate and its key are, and its SHA-256 fingerprint."""

    cert: Path
    key: Path
    fingerprint: str  # "AB:CD:..." as browsers show it


def state_dir() -> Path:
    """The directory chinwag keeps generated files in (created on use)."""
    explicit = os.environ.get("CHINWAG_STATE_DIR")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "chinwag"


def _interface_ipv4() -> set[str]:
    found: set[str] = set()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                reply = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:  # an interface without an IPv4 address
                continue
            found.add(socket.inet_ntoa(reply[20:24]))
    return found


def _interface_ipv6() -> set[str]:
    try:
        lines = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return set()
    found = set()
    for line in lines:
        address = ipaddress.IPv6Address(bytes.fromhex(line.split()[0]))
        if not address.is_link_local:  # needs a zone id; useless in a certificate
            found.add(str(address))
    return found


def local_addresses() -> list[str]:
    """This machine's IP addresses (loopback included), sorted, without sending anything."""
    found = {"127.0.0.1", "::1"}
    with contextlib.suppress(OSError):
        found |= _interface_ipv4() | _interface_ipv6()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    except OSError:
        pass
    return sorted(found, key=lambda a: (":" in a, a))


def _names() -> list[str]:
    return sorted({"localhost", socket.gethostname(), socket.getfqdn()} - {""})


def _fingerprint(der: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def self_signed(directory: Path | None = None) -> Certificate:
    """A self-signed certificate for this machine, reused from ``directory`` while it fits."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = directory or state_dir()
    cert_path, key_path = directory / _CERT_FILE, directory / _KEY_FILE
    names, addresses = _names(), local_addresses()
    wanted: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    wanted += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    now = datetime.datetime.now(datetime.UTC)
    if cert_path.exists() and key_path.exists():
        existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
        covered = existing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if existing.not_valid_after_utc - now > _RENEW_BEFORE and set(wanted) <= set(covered):
            der = existing.public_bytes(serialization.Encoding.DER)
            return Certificate(cert_path, key_path, _fingerprint(der))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"chinwag on {names[0]}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(wanted), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key_bytes)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    der = certificate.public_bytes(serialization.Encoding.DER)
    return Certificate(cert_path, key_path, _fingerprint(der))


def _fingerprint_of_file(path: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    return _fingerprint(der)


def server_context(settings: Settings) -> tuple[ssl.SSLContext | None, Certificate | None]:
    """The TLS context the settings ask for (None for plain HTTP), and its certificate."""
    if settings.cert and settings.key:
        cert_path, key_path = Path(settings.cert), Path(settings.key)
        try:
            certificate = Certificate(cert_path, key_path, _fingerprint_of_file(cert_path))
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read certificate {cert_path}: {error}") from None
    elif settings.self_signed:
        require("tls")
        certificate = self_signed()
    else:
        return None, None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certificate.cert, certificate.key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"cannot load certificate and key: {error}") from None
    return context, certificate


async def accept_tls(
    raw: StreamTransport,
    protocol: asyncio.BaseProtocol,
    context: ssl.SSLContext,
    handshake_timeout: float,
    peer: str,
) -> StreamTransport | None:
    """The server side of a TLS handshake on an accepted socket: the TLS transport
    ``protocol`` now reads from, or None when the handshake failed (logged; the
    caller aborts the socket)."""
    try:
        secure = await asyncio.get_running_loop().start_tls(
            cast(asyncio.WriteTransport, raw),  # asyncio's or uvloop's, both take it
            protocol,
            context,
            server_side=True,
            ssl_handshake_timeout=handshake_timeout,
        )
    except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as error:
        log.debug("%s: TLS handshake failed: %s", peer, error)
        return None
    return secure
