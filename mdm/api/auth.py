"""Token authentication for service accounts.

Tokens are django-rest-knox tokens: only a hash is stored, an account may
hold several, each may expire, and each can be revoked.  Also here: who the
caller is (service account or a person's session and roles), what it may
read, and the per-account throttles."""

import os
import time
from hmac import compare_digest

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from knox.signals import token_expired
from rest_framework import exceptions, permissions, throttling

from mdm.compiled import CompiledQuery
from mdm.services.accounts import roles_of


#: The token with its user, service account and system, compiled once (``mdm/compiled.py``): building
#: and compiling this four-table join cost more CPU than the rest of a change-feed poll.
_TOKENS = CompiledQuery(
    lambda key: get_token_model().objects.filter(token_key=key)
    .select_related("user", "user__service_account", "user__service_account__system"),
    key="\x00token-key",
)


#: Tokens this process checked lately: digest -> (trusted until, user, token).  Every client of an integration
#: platform sends the same token several times a second; reading it with its user, account and system took a
#: tenth of a web worker's CPU under the load test.
_RECENT: dict = {}
_RECENT_MAX = 10_000


def forget_checked_tokens(*_args, **_kwargs) -> None:
    """Drop every token this process trusts: the next request reads its own again."""
    _RECENT.clear()


for _model in (get_token_model(), get_user_model(), "mdm.ServiceAccount", "mdm.SourceSystem"):
    post_save.connect(forget_checked_tokens, sender=_model, dispatch_uid=f"mdm-tokens-save-{_model}")
    post_delete.connect(forget_checked_tokens, sender=_model, dispatch_uid=f"mdm-tokens-delete-{_model}")


class ServiceTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``; refuses tokens of deactivated service accounts.

    A token found valid is trusted by this process for
    ``MDM_TOKEN_CACHE_SECONDS`` (its expiry still checked on each request).
    A token, account, user or system saved or deleted in this process ends
    that at once; changed from another process, within that time.

    Knox's own check costs three queries per request (the token, then every
    other token of the user to delete expired ones, then the service account
    on first use).  Here one query loads the token with its user, service
    account and system; an expired token is refused and deleted as knox
    does, and other tokens are left to be cleaned when they are presented or
    revoked (``revoke_tokens``), which changes nothing a caller can see."""

    def authenticate_credentials(self, token):
        msg = "Invalid token."
        if isinstance(token, bytes):
            token = token.decode("utf-8")
        try:
            digest = hash_token(token)
        except (TypeError, ValueError):
            raise exceptions.AuthenticationFailed(msg) from None
        recent = _RECENT.get(digest)
        if recent is not None:
            until, user, auth_token = recent
            if time.monotonic() < until and (auth_token.expiry is None or auth_token.expiry >= timezone.now()):
                return user, auth_token
            _RECENT.pop(digest, None)
        for auth_token in _TOKENS.run(key=token[:CONSTANTS.TOKEN_KEY_LENGTH]):
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                username = auth_token.user.get_username()
                auth_token.delete()
                token_expired.send(sender=TokenAuthentication, username=username, source="auth_token")
                continue
            if compare_digest(digest, auth_token.digest):
                user, auth_token = self.validate_user(auth_token)
                account = getattr(user, "service_account", None)
                if account is not None and not account.active:
                    raise exceptions.AuthenticationFailed("This service account is deactivated.")
                seconds = settings.MDM_TOKEN_CACHE_SECONDS
                if seconds > 0:
                    if len(_RECENT) >= _RECENT_MAX:
                        _RECENT.clear()
                    _RECENT[digest] = (time.monotonic() + seconds, user, auth_token)
                return user, auth_token
        raise exceptions.AuthenticationFailed(msg)


# --- who the caller is and what it may do -------------------------------------

HUB_ROLES = frozenset({"steward", "approver", "auditor", "admin"})
WRITE_ROLES = frozenset({"steward", "approver", "admin"})


def service_account_of(request):
    """The caller's active ``ServiceAccount``, or None for a person's session."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    cached = getattr(request, "_mdm_service_account", False)
    if cached is not False:
        return cached
    try:
        account = user.service_account
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist: a person
        account = None
    request._mdm_service_account = account
    return account


def caller_roles(request) -> frozenset[str]:
    cached = getattr(request, "_mdm_roles", None)
    if cached is None:
        cached = frozenset() if service_account_of(request) is not None else frozenset(roles_of(request.user))
        request._mdm_roles = cached
    return cached


def may_read_pending(request) -> bool:
    """Service accounts with ``can_read_pending``; any hub role's session."""
    account = service_account_of(request)
    if account is not None:
        return account.can_read_pending
    return bool(caller_roles(request) & HUB_ROLES)


def may_read_entity(request, entity_type: str) -> bool:
    """A service account limited to some entity types reads and writes only those."""
    account = service_account_of(request)
    return account is None or not account.entity_types or entity_type in account.entity_types


class HubAccess(permissions.BasePermission):
    """Service accounts, and people with a hub role.  Auditors read only:
    any unsafe method from a session whose only write-capable role is
    missing answers 403."""

    message = "Your account has no role in the hub."

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if service_account_of(request) is not None:
            return True
        roles = caller_roles(request)
        if not roles & HUB_ROLES:
            return False
        if request.method not in permissions.SAFE_METHODS and not roles & WRITE_ROLES:
            self.message = "Auditors have read-only access."
            return False
        return True


class ServiceAccountOnly(permissions.BasePermission):
    """Only a source system's service account may push source records."""

    message = "Only a source system's service account (Authorization: Token …) may send source records."

    def has_permission(self, request, view):
        return service_account_of(request) is not None


class _ScopedUserThrottle(throttling.UserRateThrottle):
    """A per-account quota (keyed by the user behind the token or session).
    Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]``, else
    the environment variable named below, else the default.

    Counted with a sliding-window counter (this window's count plus the
    previous window's, weighted by how much of it still overlaps): two small
    integers in the cache per account.  DRF's own throttle keeps the time of
    every request in the window as one cached list, read and rewritten whole
    on each request — at 200,000 an hour that is a list of up to 200,000
    floats pickled twice per call."""

    default_rate = "100000/hour"
    env_var = ""

    def get_rate(self):
        rates = getattr(self, "THROTTLE_RATES", {})
        return rates.get(self.scope) or os.environ.get(self.env_var) or self.default_rate

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        current, previous = f"{key}:{window}", f"{key}:{window - 1}"
        counts = self.cache.get_many([current, previous])
        overlap = 1.0 - (self.now - window * self.duration) / self.duration
        used = counts.get(previous, 0) * overlap + counts.get(current, 0)
        if used + 1 > self.num_requests:
            self.wait_seconds = (window + 1) * self.duration - self.now
            return False
        if not self.cache.add(current, 1, 2 * self.duration):
            try:
                self.cache.incr(current)
            except ValueError:  # expired between add and incr
                self.cache.set(current, 1, 2 * self.duration)
        return True

    def wait(self):
        return getattr(self, "wait_seconds", None)


class ReadThrottle(_ScopedUserThrottle):
    scope = "mdm_read"
    env_var = "MDM_API_READ_RATE"
    default_rate = "200000/hour"


class IngestThrottle(_ScopedUserThrottle):
    scope = "mdm_ingest"
    env_var = "MDM_API_INGEST_RATE"
    default_rate = "100000/hour"
