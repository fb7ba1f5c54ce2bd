"""`console.redact`: credentials out of URLs, errors and log lines; ordinary text left alone."""

from __future__ import annotations

import pytest

from console.redact import redact, redact_url


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        (
            "https://alice:hunter2@prom.example:9090/api",
            "hunter2",
            "https://alice:***@prom.example:9090/api",
        ),
        (
            "http://ghp_abcdef123456@mlflow.internal/",
            "ghp_abcdef123456",
            "http://***@mlflow.internal/",
        ),
        ("https://a:p%40ss@w@host/x", "p%40ss@w", "https://a:***@host/x"),
        ("cannot reach Prometheus at https://u:s3cr3t@p:9090: refused", "s3cr3t", "refused"),
        ("https://p/api/v1/query?query=up&token=abc123&x=1", "abc123", "?query=up&token=***&x=1"),
        ("https://p/q?access_token=eyJhbGciOi.xyz", "eyJhbGciOi.xyz", "access_token=***"),
        (
            "https://s3/b/o?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA/x",
            "deadbeef",
            "X-Amz-Signature=***",
        ),
        ("https://s3/b/o?X-Amz-Credential=AKIAXYZ/2024", "AKIAXYZ", "X-Amz-Credential=***"),
        ("https://blob/x?sv=2020&sig=Zm9vYmFy", "Zm9vYmFy", "sig=***"),
        (
            "GET /x: 401: invalid bearer token Bearer eyJ0eXAi.abc.def",
            "eyJ0eXAi.abc.def",
            "Bearer ***",
        ),
        (
            "headers {'Authorization': 'Basic YWxpY2U6aHVudGVyMg=='}",
            "YWxpY2U6aHVudGVyMg==",
            "'Authorization': '***'",
        ),
        ('{"token": "tok-9f8e7d", "user": "x"}', "tok-9f8e7d", '"token": "***"'),
        ("login failed password=hunter22 for alice", "hunter22", "password=***"),
        ("client_secret: abc-def-123", "abc-def-123", "client_secret: ***"),
        ("    client-key-data: LS0tLS1CRUdJTi", "LS0tLS1CRUdJTi", "client-key-data: ***"),
    ],
)
def test_secrets_are_masked(text: str, secret: str, kept: str) -> None:
    out = redact(text)
    assert secret not in out
    assert kept in out


@pytest.mark.parametrize(
    "text",
    [
        "https://prometheus.monitoring:9090/api/v1/query",
        "container exited with exit code: 137",
        "Basic authentication is disabled",
        "the token expired, run the login again",
        "tokens_per_sec=1234 step=10 loss=0.25",
        "pod a/b: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu.",
        "mailto:someone@example.com",
        "",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_user_without_password_keeps_nothing_of_it() -> None:
    assert redact_url("https://svc-account@host/") == "https://***@host/"


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact("https://u:p@h/?token=abc&sig=zz Bearer abcdef12345")
    assert redact(once) == once
    assert "p@" not in once and "abc" not in once and "abcdef12345" not in once


def test_never_raises_on_hostile_objects() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert redact(Hostile()) == "<unprintable>"
    assert redact(ValueError("https://a:b@c/")) == "https://a:***@c/"
    assert redact("\x00" * 10 + "://@" * 1000)  # long, odd input: no error, no blow-up


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [
        "?" + "token" * 200_000,
        "&" * 500_000,
        '"token": ' * 200_000,
        "'x" * 500_000,
        "https://" + "a:" * 500_000,
    ],
)
def test_megabyte_of_adversarial_input_finishes(text: str) -> None:
    # Linear patterns take milliseconds on 1 MB; a backtracking one takes many minutes and
    # trips the timeout (a deadline, not a timing assertion).
    assert len(redact(text)) > 0


def test_log_records_are_redacted_whatever_writes_them() -> None:
    import io
    import logging

    from console.redact import redact_log_records

    previous = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("kmc.test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        redact_log_records()
        redact_log_records()  # idempotent: one wrapper
        logger.warning("GET %s failed", "https://u:hunter2@prom/?token=abc123")
        try:
            raise ValueError("Authorization: Bearer eyJhbGciOi.secret.sig")
        except ValueError:
            logger.exception("refresh failed")
    finally:
        logging.setLogRecordFactory(previous)
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "https://u:***@prom/?token=***" in text
    assert "hunter2" not in text and "abc123" not in text and "eyJhbGciOi" not in text
    assert "Traceback" in text and "Bearer ***" in text
