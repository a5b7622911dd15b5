from django.db.models import QuerySet

from secrets_app.tokens.models import ApiToken


def token_list(*, user) -> QuerySet[ApiToken]:
    """The caller's own tokens, newest first (metadata only: there is nothing else)."""
    return ApiToken.objects.filter(user=user).order_by("-created", "-id")
