"""REST routes of this app, mounted under /agent/v1/ by platos/urls.py."""

from django.urls import path

from secrets_app import api, api_dotenv, api_versions, runtime_api

scope = "projects/<slug:project>/environments/<slug:environment>/"
key = scope + "provider-keys/<int:key_id>/"
var = scope + "env-vars/<str:name>/"
accounts = "projects/<slug:project>/service-accounts/"
runtime = "runtime/environments/<slug:environment>/env"

urlpatterns = [
    path(scope + "env-vars/", api.EnvVarListCreateApi.as_view(), name="env-vars"),
    path(scope + "env-vars/<str:name>/", api.EnvVarDetailApi.as_view(), name="env-var"),
    path(scope + "env-vars/<str:name>/reveal/", api.EnvVarRevealApi.as_view(), name="env-var-reveal"),
    path(var + "versions/", api_versions.EnvVarVersionListApi.as_view(), name="env-var-versions"),
    path(var + "versions/<int:version>/reveal/", api_versions.EnvVarVersionRevealApi.as_view(),
         name="env-var-version-reveal"),
    path(var + "versions/<int:version>/destroy/", api_versions.EnvVarVersionDestroyApi.as_view(),
         name="env-var-version-destroy"),
    path(var + "rollback/", api_versions.EnvVarRollbackApi.as_view(), name="env-var-rollback"),
    path(scope + "env-import/", api_dotenv.EnvImportApi.as_view(), name="env-import"),
    path(scope + "env-export/", api_dotenv.EnvExportApi.as_view(), name="env-export"),
    path(scope + "provider-keys/", api.ProviderKeyListCreateApi.as_view(), name="provider-keys"),
    path(key, api.ProviderKeyDetailApi.as_view(), name="provider-key"),
    path(key + "rotate/", api.ProviderKeyRotateApi.as_view(), name="provider-key-rotate"),
    path(key + "disable/", api.ProviderKeyDisableApi.as_view(), name="provider-key-disable"),
    path(key + "enable/", api.ProviderKeyEnableApi.as_view(), name="provider-key-enable"),
    path(key + "revoke/", api.ProviderKeyRevokeApi.as_view(), name="provider-key-revoke"),
    path(key + "test/", api.ProviderKeyTestApi.as_view(), name="provider-key-test"),
    path(key + "set-default/", api.ProviderKeySetDefaultApi.as_view(), name="provider-key-set-default"),
    path(scope + "skills/", api.SkillReadinessListApi.as_view(), name="skills"),
    path(accounts, runtime_api.ServiceAccountListCreateApi.as_view(), name="service-accounts"),
    path(accounts + "<int:account_id>/disable/", runtime_api.ServiceAccountDisableApi.as_view(),
         name="service-account-disable"),
    path(accounts + "<int:account_id>/tokens/", runtime_api.ServiceAccountTokenCreateApi.as_view(),
         name="service-account-tokens"),
    path(runtime, runtime_api.RuntimeEnvApi.as_view(), name="runtime-env"),
    path(runtime + "/<str:name>", runtime_api.RuntimeEnvVarApi.as_view(), name="runtime-env-var"),
]
