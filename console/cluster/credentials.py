"""Exec credential plugins (EKS, GKE, AKS logins: kubeconfig `users[].user.exec`), run here
rather than by the official client. No Textual.

The client runs the plugin again on every request thread that finds the token expired
(20 concurrent requests: 20 logins), and hands it the process's terminal whenever
stdout is a tty, so in the TUI an MFA prompt draws over the screen and competes for
keystrokes. Here:

- single-flight: the first caller after expiry runs the plugin under a lock; the others
  wait for it and take its credential;
- the terminal goes to the plugin only when the process owns it: before the TUI starts
  (the first fetch runs in the start-up path, so an MFA prompt works there) and in the
  headless commands. Once the TUI holds the terminal a `Suspender` is set: the plugin runs
  detached (stdin from /dev/null, output captured, a new session without a controlling
  terminal), and a plugin that needs the user (`interactiveMode: Always`, or
  `IfAvailable` failing without a terminal) runs again through the suspender, which
  hands it the terminal (Textual's `App.suspend`) and takes it back.

Plugin protocol: https://kubernetes.io/docs/reference/access-authn-authz/authentication/
#client-go-credential-plugins (ExecCredential in, ExecCredential with `status` out).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from kubernetes.config.kube_config import ConfigNode

from console.redact import redact
from console.text import clean_line

T = TypeVar("T")
Suspender = Callable[[Callable[[], T]], T]
"""Runs a function while the TUI has handed the terminal back, and returns its result."""

EXPIRY_SKEW = 10.0
"""Seconds before its expiry a credential counts as expired (a request takes time)."""
DETACHED_TIMEOUT = 60.0
"""A plugin run without a terminal that takes longer is stopped: it is waiting for a user."""
INTERACTIVE_TIMEOUT = 600.0


class CredentialError(Exception):
    """The plugin did not produce a credential; the message is one line, redacted."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(clean_line(message))[:400])


@dataclass(frozen=True)
class Credential:
    """What a plugin run produced. `expiry` is epoch seconds (None: until the server says 401)."""

    token: str | None
    cert_file: str | None
    key_file: str | None
    expiry: float | None


class ExecCredential:
    """One kubeconfig user's exec plugin, its cached credential and how it may use the terminal."""

    def __init__(
        self,
        exec_config: Mapping[str, Any],
        base_dir: str = "",
        cluster: Mapping[str, Any] | None = None,
        suspender: Suspender[Any] | None = None,
    ) -> None:
        command = exec_config.get("command")
        if not isinstance(command, str) or not command:
            raise CredentialError("exec plugin: the kubeconfig's exec section has no command")
        self.api_version = str(exec_config.get("apiVersion") or "")
        if not self.api_version:
            raise CredentialError("exec plugin: the kubeconfig's exec section has no apiVersion")
        args, env = exec_config.get("args") or [], exec_config.get("env") or []
        if not isinstance(args, list) or not isinstance(env, list):
            raise CredentialError("exec plugin: the exec section's args and env must be lists")
        self.args = [command, *(str(a) for a in args)]
        self.env = {
            str(item["name"]): str(item["value"])
            for item in env
            if isinstance(item, Mapping) and "name" in item and "value" in item
        }
        self.mode = str(exec_config.get("interactiveMode") or "IfAvailable")
        self.cluster = dict(cluster) if cluster and exec_config.get("provideClusterInfo") else None
        # A relative command is found next to the kubeconfig (as client-go does).
        if os.sep in command and not os.path.isabs(command) and base_dir:
            self.args[0] = os.path.join(base_dir, command)
        self.base_dir = base_dir or None
        self.suspender = suspender
        self.runs = 0
        self._lock = threading.Lock()
        self._current: Credential | None = None
        self._fresh = False  # fetched and not yet handed out: used once even if expired

    @property
    def command(self) -> str:
        return os.path.basename(self.args[0])

    def use_suspender(self, suspender: Suspender[Any] | None) -> None:
        """The TUI holds the terminal (None: the process owns it again)."""
        self.suspender = suspender

    def credential(self) -> Credential:
        """The cached credential, or a new one from one plugin run shared by every caller."""
        with self._lock:
            current = self._current
            if current is not None and (self._fresh or not _expired(current.expiry)):
                self._fresh = False
                return current
            self._current = self._fetch()
            self._fresh = True
            return self._current

    def token(self) -> str | None:
        return self.credential().token

    def invalidate(self, token: str | None) -> None:
        """The server rejected `token` (401): the next caller runs the plugin again — once,
        however many requests failed with the same token."""
        with self._lock:
            if self._current is not None and self._current.token == token:
                self._current = None
                self._fresh = False

    # ------------------------------------------------------------ running the plugin

    def _fetch(self) -> Credential:
        if self.suspender is None:
            # The process owns its terminal (start-up, headless commands).
            interactive = self.mode != "Never" and _has_terminal()
            if self.mode == "Always" and not interactive:
                raise CredentialError(
                    f"exec plugin {self.command} needs a terminal (interactiveMode Always)"
                )
            return self._run(interactive)
        if self.mode == "Always":
            return self._run_suspended()
        try:
            return self._run(interactive=False)
        except CredentialError:
            if self.mode == "Never":
                raise
            return self._run_suspended()  # IfAvailable: the user may be what it needs

    def _run_suspended(self) -> Credential:
        suspender = self.suspender
        assert suspender is not None
        try:
            return suspender(lambda: self._run(interactive=True))
        except CredentialError:
            raise
        except Exception as exc:  # the app is gone or cannot suspend in this terminal
            raise CredentialError(
                f"exec plugin {self.command} needs the terminal and the console could not "
                f"hand it over: {type(exc).__name__}: {exc}"
            ) from None

    def _exec_info(self, interactive: bool) -> str:
        spec: dict[str, Any] = {"interactive": interactive}
        if self.cluster is not None:
            spec["cluster"] = self.cluster
        return json.dumps({"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec})

    def _run(self, interactive: bool) -> Credential:
        self.runs += 1
        env = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": self._exec_info(interactive)}
        try:
            # Interactive: the user's terminal for stdin and stderr (the prompt); stdout is
            # always the credential. Detached: a new session, so no controlling terminal
            # either (a plugin opening /dev/tty gets an error, not the TUI's keystrokes).
            done = subprocess.run(
                self.args,
                stdin=None if interactive else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None if interactive else subprocess.PIPE,
                cwd=self.base_dir,
                env=env,
                timeout=INTERACTIVE_TIMEOUT if interactive else DETACHED_TIMEOUT,
                start_new_session=not interactive,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CredentialError(
                f"exec plugin {self.command} did not answer in "
                f"{INTERACTIVE_TIMEOUT if interactive else DETACHED_TIMEOUT:.0f} s"
            ) from None
        except OSError as exc:
            raise CredentialError(
                f"exec plugin {self.command}: {exc.strerror or exc}"
                + (f" ({exc.filename})" if exc.filename else "")
            ) from None
        if done.returncode != 0:
            detail = _last_line(done.stderr)
            raise CredentialError(
                f"exec plugin {self.command} exited with {done.returncode}"
                + (f": {detail}" if detail else "")
            )
        return self._parse(done.stdout)

    def _parse(self, stdout: bytes) -> Credential:
        try:
            data = json.loads(stdout)
            status = data["status"]
            if data.get("apiVersion") != self.api_version:
                raise CredentialError(
                    f"exec plugin {self.command} answered apiVersion "
                    f"{data.get('apiVersion')!r}, not {self.api_version!r}"
                )
            if not isinstance(status, Mapping):
                raise TypeError("status is not an object")
        except CredentialError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CredentialError(
                f"exec plugin {self.command}: not an ExecCredential ({type(exc).__name__})"
            ) from None
        expiry = _parse_time(status.get("expirationTimestamp"))
        token = status.get("token")
        if isinstance(token, str) and token:
            return Credential(token, None, None, expiry)
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if isinstance(cert, str) and isinstance(key, str) and cert and key:
            return Credential(None, _secret_file(cert), _secret_file(key), expiry)
        raise CredentialError(
            f"exec plugin {self.command}: its ExecCredential has neither a token nor a "
            "client certificate and key"
        )


# ---------------------------------------------------------------- kubeconfig plumbing


def take_exec_plugin(
    merged: ConfigNode, context_name: str, suspender: Suspender[Any] | None
) -> ExecCredential | None:
    """The context's exec plugin, taken out of the config the client's loader will read (the
    loader would run it itself, on the terminal, once per expired request)."""
    context = merged["contexts"].get_with_name(context_name)["context"]
    user_name = context.safe_get("user")
    users = merged.safe_get("users")
    if not user_name or not users:
        return None
    user_node = merged["users"].get_with_name(user_name, safe=True)
    user = user_node.value.get("user") if user_node is not None else None
    if not isinstance(user, dict) or not isinstance(user.get("exec"), dict):
        return None
    if any(user.get(key) for key in ("auth-provider", "token", "tokenFile")):
        return None  # the client prefers these to the plugin: leave it to them
    exec_config = user.pop("exec")
    cluster_name = context.safe_get("cluster")
    cluster_node = (
        merged["clusters"].get_with_name(cluster_name, safe=True) if cluster_name else None
    )
    cluster = cluster_node.value.get("cluster") if cluster_node is not None else None
    base_dir = os.path.dirname(os.path.abspath(user_node.path)) if user_node.path else ""
    return ExecCredential(exec_config, base_dir, _cluster_info(cluster), suspender)


def _cluster_info(cluster: Any) -> dict[str, Any] | None:
    """The ExecCredential `spec.cluster` of a kubeconfig cluster (for `provideClusterInfo`)."""
    if not isinstance(cluster, dict):
        return None
    names = {
        "server": "server",
        "tls-server-name": "tlsServerName",
        "insecure-skip-tls-verify": "insecureSkipTLSVerify",
        "certificate-authority-data": "certificateAuthorityData",
        "proxy-url": "proxyURL",
    }
    info: dict[str, Any] = {new: cluster[old] for old, new in names.items() if old in cluster}
    for extension in cluster.get("extensions") or []:
        if (
            isinstance(extension, dict)
            and extension.get("name") == "client.authentication.k8s.io/exec"
        ):
            info["config"] = extension.get("extension")
    return info


def install(credential: ExecCredential, configuration: Any) -> None:
    """Fetch the first credential now (raises CredentialError) and refresh the token on every
    request that finds it expired (the client's `refresh_api_key_hook`)."""
    first = credential.credential()
    if first.cert_file and first.key_file:
        configuration.cert_file, configuration.key_file = first.cert_file, first.key_file
    if first.token:
        configuration.api_key["BearerToken"] = f"Bearer {first.token}"

        def refresh(conf: Any) -> None:
            token = credential.token()
            if token:
                conf.api_key["BearerToken"] = f"Bearer {token}"

        configuration.refresh_api_key_hook = refresh


def _has_terminal() -> bool:
    try:
        return sys.stdin is not None and os.isatty(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def _expired(expiry: float | None) -> bool:
    return expiry is not None and time.time() >= expiry - EXPIRY_SKEW


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0  # unreadable: treat as expired so the next request asks again


def _last_line(stderr: bytes | None) -> str:
    lines = (stderr or b"").decode(errors="replace").strip().splitlines()
    return clean_line(lines[-1])[:200] if lines else ""


def _secret_file(data: str) -> str:
    """A private temporary file holding a certificate or key (the client library wants file
    paths), removed when the process exits."""
    handle, path = tempfile.mkstemp(prefix="kmc-exec-", suffix=".pem")
    with os.fdopen(handle, "w") as out:  # mkstemp creates it 0600
        out.write(data)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
