"""Who may do what in the simulated cluster: TLS material, bearer-token users, RBAC, kubeconfig.

Three users come built in: `admin` (everything), `viewer` (read-only, like the built-in
`view` ClusterRole: get/list/watch, pods/log, no secrets) and `team` (like the `edit`
ClusterRole bound by a RoleBinding in each of the team's namespaces only: a cluster-wide
list, nodes and namespaces are forbidden). Tokens are random per run, never derived from
the seed (the kubeconfig is the only way to learn them); they can be revoked at runtime.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Iterable
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
    """One RBAC rule. `namespaces` None: bound cluster-wide (a ClusterRoleBinding); a set:
    bound by a RoleBinding in each of those namespaces, so it allows nothing at the cluster
    scope (a list across all namespaces, nodes, namespaces themselves)."""

    verbs: frozenset[str]
    groups: frozenset[str] = frozenset({"*"})
    resources: frozenset[str] = frozenset({"*"})
    namespaces: frozenset[str] | None = None

    def allows(self, verb: str, group: str, resource: str, namespace: str | None = None) -> bool:
        return (
            ("*" in self.verbs or verb in self.verbs)
            and ("*" in self.groups or group in self.groups)
            and ("*" in self.resources or resource in self.resources)
            and (self.namespaces is None or namespace in self.namespaces)
        )


@dataclass
class User:
    name: str
    token: str
    rules: list[Rule]
    groups: list[str] = field(default_factory=lambda: ["system:authenticated"])

    def can(self, verb: str, group: str, resource: str, namespace: str | None = None) -> bool:
        """`resource` may carry a subresource: `pods/log`; `namespace` None: cluster scope."""
        return any(rule.allows(verb, group, resource, namespace) for rule in self.rules)


ADMIN_RULES = [Rule(frozenset({"*"}))]
VIEWER_RULES = [
    # Like the `view` ClusterRole: read everything but secrets; pods/log and pods/status readable.
    Rule(READ_VERBS, frozenset({"*"}), frozenset({"*"})),
]
VIEWER_DENIED = frozenset({"secrets"})
TEAM_NAMESPACES = {"demo": ("ml-research", "serving")}
"""The namespaces the `team` user's Role is bound in, per preset (default: `ml`)."""


def team_namespaces(preset: str) -> tuple[str, ...]:
    """Where the preset's team works: namespaces that hold its jobs, servers and pods."""
    return TEAM_NAMESPACES.get(preset, ("ml",))


def team_rules(namespaces: Iterable[str]) -> list[Rule]:
    """Like the `edit` ClusterRole bound by a RoleBinding in each of `namespaces`."""
    return [Rule(frozenset({"*"}), namespaces=frozenset(namespaces))]


def new_token() -> str:
    """A bearer token that nobody can derive: random per run, whatever the seed."""
    return secrets.token_urlsafe(32)


class Authenticator:
    def __init__(self, team_namespaces: Iterable[str] = ("ml",)) -> None:
        self.users: dict[str, User] = {}
        self.team_namespaces = tuple(team_namespaces)
        self.add(
            User("admin", new_token(), ADMIN_RULES, ["system:masters", "system:authenticated"])
        )
        self.add(User("viewer", new_token(), VIEWER_RULES))
        self.add(User("team", new_token(), team_rules(self.team_namespaces)))

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
        self,
        user: User,
        verb: str,
        group: str,
        resource: str,
        subresource: str = "",
        namespace: str | None = None,
    ) -> bool:
        """May `user` do `verb` on `resource` in `namespace` (None or "": the cluster scope)?"""
        if user.name != "admin" and resource in VIEWER_DENIED:
            return False
        full = f"{resource}/{subresource}" if subresource else resource
        return user.can(verb, group, full, namespace or None)


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
TEAM_CONTEXT = "kmc-sim-team"


def kubeconfig(server: str, ca_pem: bytes, auth: Authenticator) -> dict:
    ca_data = base64.b64encode(ca_pem).decode()
    admin, viewer, team = auth.by_name("admin"), auth.by_name("viewer"), auth.by_name("team")
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
            {"name": "kmc-sim-team", "user": {"token": team.token}},
        ],
        "contexts": [
            {"name": ADMIN_CONTEXT, "context": {"cluster": CLUSTER_NAME, "user": "kmc-sim-admin"}},
            {
                "name": VIEWER_CONTEXT,
                "context": {"cluster": CLUSTER_NAME, "user": "kmc-sim-viewer"},
            },
            {
                "name": TEAM_CONTEXT,
                "context": {
                    "cluster": CLUSTER_NAME,
                    "user": "kmc-sim-team",
                    "namespace": auth.team_namespaces[0],
                },
            },
        ],
        "current-context": ADMIN_CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: dict) -> None:
    """Write atomically and private from the first byte: a temporary file created 0600 in
    the same directory (mkstemp), then renamed over `path`. No reader ever sees a partial
    file, and the tokens are never readable by others, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(yaml.safe_dump(config, sort_keys=False))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
