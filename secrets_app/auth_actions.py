# ruff: noqa: S105  (action names, not passwords)
"""Audit action names added by the credentials work (issue 11), in one place.

Plain strings in the existing dotted style, so they map one to one onto
``AuditEvent.Action`` members when the actions become a TextChoices.
"""

TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
TOKEN_AUTH_FAILED = "token.auth.failed"
AUTH_THROTTLED = "auth.throttled"
ADMIN_LOGIN = "admin.login"
ADMIN_LOGOUT = "admin.logout"
ADMIN_LOGIN_FAILED = "admin.login.failed"
ADMIN_LOCKED_OUT = "admin.login.locked_out"
ADMIN_MFA_ENROL = "admin.mfa.enrol"
ADMIN_MFA_FAILED = "admin.mfa.failed"
PROJECT_CHANGE = "project.change"
MEMBERSHIP_CHANGE = "membership.change"
USER_CHANGE = "user.change"
