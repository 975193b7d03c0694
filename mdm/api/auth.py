"""Token authentication for service accounts.

Tokens are django-rest-knox tokens: only a hash is stored, an account may
hold several, each may expire, and each can be revoked."""

from knox.auth import TokenAuthentication
from rest_framework import exceptions


class ServiceTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``; refuses tokens of deactivated service accounts."""

    def authenticate_credentials(self, token):
        user, auth_token = super().authenticate_credentials(token)
        account = getattr(user, "service_account", None)
        if account is not None and not account.active:
            raise exceptions.AuthenticationFailed("This service account is deactivated.")
        return user, auth_token
