"""`json-web-token`: sign, verify or decode a JWT (PyJWT), with jsonwebtoken's option names."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt as pyjwt

from host.errors import OperationFailed
from host.flows.operations._options import as_object, one_of, require
from host.flows.operations.registry import OperationContext, OperationType
from host.types import Json

_SPAN = re.compile(
    r"^\s*(-?\d+(?:\.\d+)?)\s*"
    r"(ms|s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|years?)?\s*$",
    re.I,
)
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}


def seconds(value: Any) -> float:
    """jsonwebtoken's time spans: a number of seconds, or text like `1h`, `2 days`."""
    if isinstance(value, int | float):
        return float(value)
    match = _SPAN.match(str(value))
    if not match:
        raise OperationFailed(f'json-web-token: "{value}" is not a time span such as 60, "2h" or "7d"')
    amount, unit = float(match.group(1)), (match.group(2) or "ms").lower()
    key = "ms" if unit == "ms" else unit[0]
    return amount * _SECONDS[key]


_CLAIMS = {"audience": "aud", "issuer": "iss", "subject": "sub", "jwtid": "jti"}


def _sign(options: dict[str, Any]) -> Json:
    payload = as_object(options.get("payload"), "json-web-token: payload")
    if not isinstance(payload, dict):
        raise OperationFailed("json-web-token: payload must be an object")
    settings = as_object(options.get("options"), "json-web-token: options") or {}
    claims = dict(payload)
    now = int(time.time())
    claims.setdefault("iat", now)
    if "expiresIn" in settings:
        claims["exp"] = now + int(seconds(settings["expiresIn"]))
    if "notBefore" in settings:
        claims["nbf"] = now + int(seconds(settings["notBefore"]))
    for name, claim in _CLAIMS.items():
        if name in settings:
            claims[claim] = settings[name]
    algorithm = str(settings.get("algorithm") or "HS256")
    try:
        secret = str(options.get("secret") or "")
        return pyjwt.encode(claims, secret, algorithm=algorithm, headers=settings.get("header"))
    except (pyjwt.PyJWTError, NotImplementedError, TypeError, ValueError) as exc:
        raise OperationFailed(f"json-web-token: cannot sign: {exc}") from None


def _verify(options: dict[str, Any]) -> Json:
    settings = as_object(options.get("options"), "json-web-token: options") or {}
    algorithms = settings.get("algorithms") or ["HS256", "HS384", "HS512"]
    try:
        return pyjwt.decode(
            str(options.get("token") or ""),
            str(options.get("secret") or ""),
            algorithms=algorithms,
            audience=settings.get("audience"),
            issuer=settings.get("issuer"),
            leeway=seconds(settings.get("clockTolerance", 0)),
            options={"verify_aud": "audience" in settings},
        )
    except pyjwt.PyJWTError as exc:
        raise OperationFailed(f"json-web-token: invalid token: {exc}") from None


def _decode(options: dict[str, Any]) -> Json:
    settings = as_object(options.get("options"), "json-web-token: options") or {}
    token = str(options.get("token") or "")
    try:
        payload = pyjwt.decode(token, options={"verify_signature": False})
        if settings.get("complete"):
            header = pyjwt.get_unverified_header(token)
            return {"header": header, "payload": payload, "signature": token.rsplit(".", 1)[-1]}
        return payload
    except pyjwt.PyJWTError as exc:
        raise OperationFailed(f"json-web-token: cannot decode: {exc}") from None


_ACTIONS: dict[str, Callable[[dict[str, Any]], Json]] = {"sign": _sign, "verify": _verify, "decode": _decode}


async def json_web_token(options: dict[str, Any], context: OperationContext) -> Json:
    action = _ACTIONS.get(str(options.get("operation") or "sign"))
    if action is None:
        raise OperationFailed(f'json-web-token: unknown operation "{options.get("operation")}"')
    with warnings.catch_warnings():
        # a short HMAC secret is the flow author's choice, as in Directus
        warnings.simplefilter("ignore", pyjwt.warnings.InsecureKeyLengthWarning)
        return action(options)


def _check(options: dict[str, Any]) -> None:
    require(options, "operation")
    one_of(options, "operation", ("sign", "verify", "decode"))
    if options.get("operation") in ("verify", "decode"):
        require(options, "token")


OPERATIONS = [OperationType("json-web-token", json_web_token, check=_check, description="sign, verify, decode")]
