"""Who may do what in the simulated cluster: TLS material, bearer-token users, RBAC, kubeconfig.

Two users come built in: `admin` (everything) and `viewer` (read-only, like the built-in
`view` ClusterRole: get/list/watch, pods/log, no secrets). Tokens can be revoked at runtime.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass(frozen=True)
class Rule:
    verbs: frozenset[str]
    groups: frozenset[str] = frozenset({"*"})
    resources: frozenset[str] = frozenset({"*"})

    def allows(self, verb: str, group: str, resource: str) -> bool:
        return (
            ("*" in self.verbs or verb in self.verbs)
            and ("*" in self.groups or group in self.groups)
            and ("*" in self.resources or resource in self.resources)
        )


@dataclass
class User:
    name: str
    token: str
    rules: list[Rule]
    groups: list[str] = field(default_factory=lambda: ["system:authenticated"])

    def can(self, verb: str, group: str, resource: str) -> bool:
        """`resource` may carry a subresource: `pods/log`."""
        return any(rule.allows(verb, group, resource) for rule in self.rules)


ADMIN_RULES = [Rule(frozenset({"*"}))]
VIEWER_RULES = [
    # Like the `view` ClusterRole: read everything but secrets; pods/log and pods/status readable.
    Rule(READ_VERBS, frozenset({"*"}), frozenset({"*"})),
]
VIEWER_DENIED = frozenset({"secrets"})


def _token(seed: int, who: str) -> str:
    return hashlib.sha256(f"kmc-sim/{seed}/{who}".encode()).hexdigest()[:40]


class Authenticator:
    def __init__(self, seed: int) -> None:
        self.users: dict[str, User] = {}
        self.add(
            User(
                "admin",
                _token(seed, "admin"),
                ADMIN_RULES,
                ["system:masters", "system:authenticated"],
            )
        )
        self.add(User("viewer", _token(seed, "viewer"), VIEWER_RULES))

    def add(self, user: User) -> None:
        self.users[user.token] = user

    def by_name(self, name: str) -> User:
        return next(u for u in self.users.values() if u.name == name)

    def authenticate(self, header: str | None) -> User | None:
        if not header or not header.lower().startswith("bearer "):
            return None
        return self.users.get(header[7:].strip())

    def revoke(self, name: str) -> None:
        for token, user in list(self.users.items()):
            if user.name == name:
                del self.users[token]

    def authorize(
        self, user: User, verb: str, group: str, resource: str, subresource: str = ""
    ) -> bool:
        if user.name != "admin" and resource in VIEWER_DENIED:
            return False
        full = f"{resource}/{subresource}" if subresource else resource
        return user.can(verb, group, full)


@dataclass(frozen=True)
class TlsMaterial:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def make_tls(host: str = "127.0.0.1") -> TlsMaterial:
    """A throwaway CA and a server certificate for `host`, localhost and 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kmc-sim-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        if host not in ("127.0.0.1", "localhost"):
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return TlsMaterial(
        ca_cert.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


CLUSTER_NAME = "kmc-sim"
ADMIN_CONTEXT = "kmc-sim"
VIEWER_CONTEXT = "kmc-sim-viewer"


def kubeconfig(server: str, ca_pem: bytes, auth: Authenticator) -> dict:
    ca_data = base64.b64encode(ca_pem).decode()
    admin, viewer = auth.by_name("admin"), auth.by_name("viewer")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {"server": server, "certificate-authority-data": ca_data},
            }
        ],
        "users": [
            {"name": "kmc-sim-admin", "user": {"token": admin.token}},
            {"name": "kmc-sim-viewer", "user": {"token": viewer.token}},
        ],
        "contexts": [
            {"name": ADMIN_CONTEXT, "context": {"cluster": CLUSTER_NAME, "user": "kmc-sim-admin"}},
            {
                "name": VIEWER_CONTEXT,
                "context": {"cluster": CLUSTER_NAME, "user": "kmc-sim-viewer"},
            },
        ],
        "current-context": ADMIN_CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
