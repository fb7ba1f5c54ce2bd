"""Credentials out of everything the console shows or writes.

`redact(text)` replaces, in any URL, error message or log line:

- the userinfo of a URL (`https://user:secret@host` → `https://user:***@host`; a user
  part alone is often a token, so `https://abc123@host` → `https://***@host`);
- the value of a query parameter or `key=value` pair whose name says it carries a
  secret (`token=`, `access_token=`, `X-Amz-Signature=`, `password=`, `api_key=`, …);
- the credentials of an `Authorization` scheme echoed in an error (`Bearer …`,
  `Basic …`) and of `"token": "…"`-style fields in JSON or Python reprs.

It never raises and has no other dependency: the cluster, metrics and tracking layers,
the headless commands and the TUI all call it where a URL or an error text leaves
the program. Redaction is not cleaning: run `console.text.clean_line` as well.
`redact_log_records()` (installed at start-up) does the same for every log record,
whichever handler writes it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"

# Names of fields that carry a secret (matched as a whole name, any case). Short or
# common words ("code", "sig", "auth") are left to the URL rule: "exit code: 137" stays.
_SECRET_NAME = (
    r"(?:access[_-]?token|id[_-]?token|refresh[_-]?token|auth[_-]?token|bearer[_-]?token"
    r"|private[_-]?token|session[_-]?token|token|client[_-]?secret|secret|password|passwd"
    r"|api[_-]?key|apikey|client[_-]?key[_-]?data|x-amz-signature|x-amz-credential|x-amz-security-token"
    r"|x-goog-signature|x-goog-credential|authorization)"
)

# scheme://userinfo@  (userinfo up to the last '@' before the host's end)
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/\s?#@]*(?:@[^/\s?#@]*)*)@"
)

# ?name=value / &name=value / ;name=value inside a URL: a name with a secret in it.
# The name is tested in a callback (a regex alternation inside it backtracks quadratically).
_QUERY = re.compile(r"(?P<head>[?&;](?P<name>[^=&\s#?;]{1,100})=)(?P<value>[^&\s#'\"<>]*)")
_QUERY_NAME = re.compile(
    r"token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey|signature|credential"
    r"|^(?:sig|sas|code|auth|key)$",
    re.IGNORECASE,
)

# name=value or name: value outside a URL, for the exact secret names only.
_PAIR = re.compile(
    r"(?P<head>(?<![\w-])"
    + _SECRET_NAME
    + r"\s*[=:]\s*)(?P<value>(?!\*\*\*|(?:Bearer|Basic)\s)[^\s&,;'\"<>)\]}]+)",
    re.IGNORECASE,
)

# "token": "value" / 'password': 'value' in JSON or Python reprs.
_QUOTED = re.compile(
    r"(?P<head>[\"'](?:[\w-]*?)" + _SECRET_NAME + r"[\"']\s*:\s*[\"'])(?P<value>[^\"']*)",
    re.IGNORECASE,
)

# Authorization schemes echoed in an error: Bearer <token>, Basic <base64>. A credential
# has a digit or a symbol in it, so prose ("Basic authentication") is left alone.
_SCHEME = re.compile(
    r"(?P<head>\b(?:Bearer|Basic)\s+)"
    r"(?P<value>(?!\*\*\*)(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})",
    re.IGNORECASE,
)


def _userinfo(match: re.Match[str]) -> str:
    info = match.group("info")
    user, colon, _password = info.partition(":")
    if colon and user:
        return f"{match.group('scheme')}{user}:{MASK}@"
    return f"{match.group('scheme')}{MASK}@"


def _value(match: re.Match[str]) -> str:
    return match.group("head") + (MASK if match.group("value") else "")


def _query_value(match: re.Match[str]) -> str:
    if not _QUERY_NAME.search(match.group("name")):
        return match.group(0)
    return _value(match)


def redact(text: object) -> str:
    """`text` (any object, as `str()`) with every credential replaced by `***`."""
    try:
        out = text if isinstance(text, str) else str(text)
    except Exception:  # a hostile __str__ must not take the caller down
        return "<unprintable>"
    if not out:
        return out
    out = _USERINFO.sub(_userinfo, out)
    out = _QUERY.sub(_query_value, out)
    out = _QUOTED.sub(_value, out)
    out = _SCHEME.sub(_value, out)
    return _PAIR.sub(_value, out)


def redact_url(url: str) -> str:
    """A URL fit to show: userinfo and secret query values masked (see `redact`)."""
    return redact(url)


def redact_log_records() -> None:
    """From now on every log record's message and traceback text is redacted when the record
    is made, whatever handler later writes it. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "kmc_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            record.msg, record.args = redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        except Exception:  # a record that cannot be formatted is left to logging's own report
            pass
        return record

    factory.kmc_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
