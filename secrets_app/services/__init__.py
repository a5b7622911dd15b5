"""Every write to the secret store, and the readers. Views, admin and commands call these."""

from secrets_app.services.dotenv_io import ImportRefused, dotenv_parse, dotenv_quote, env_vars_export, env_vars_import
from secrets_app.services.env_vars import (
    env_var_create,
    env_var_delete,
    env_var_reveal,
    env_var_reveal_by_name,
    env_var_update,
    validate_secret_text,
)
from secrets_app.services.provider_keys import (
    provider_from_prefix,
    provider_key_create,
    provider_key_delete,
    provider_key_disable,
    provider_key_enable,
    provider_key_revoke,
    provider_key_rotate,
    provider_key_set_default,
    provider_key_test,
    validate_provider_secret,
)
from secrets_app.services.readers import ScopedEnvService, SecretsService, provider_key_reader
from secrets_app.services.versions import (
    env_var_rollback,
    env_var_version_destroy,
    env_var_version_get,
    env_var_version_list,
    env_var_version_reveal,
)

__all__ = [
    "ImportRefused",
    "dotenv_parse",
    "dotenv_quote",
    "env_vars_export",
    "env_vars_import",
    "ScopedEnvService",
    "SecretsService",
    "env_var_create",
    "env_var_delete",
    "env_var_reveal",
    "env_var_rollback",
    "env_var_reveal_by_name",
    "env_var_update",
    "env_var_version_destroy",
    "env_var_version_get",
    "env_var_version_list",
    "env_var_version_reveal",
    "provider_from_prefix",
    "provider_key_create",
    "provider_key_delete",
    "provider_key_disable",
    "provider_key_enable",
    "provider_key_reader",
    "provider_key_revoke",
    "provider_key_rotate",
    "provider_key_set_default",
    "provider_key_test",
    "validate_provider_secret",
    "validate_secret_text",
]
