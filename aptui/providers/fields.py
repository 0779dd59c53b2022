"""Activepieces' connection fields per provider (DTO ``*ProviderConfigSchema`` + UI metadata).

Pure data: no SDK imports. ``secret`` marks fields aptui never shows, logs or takes from argv;
``public`` fields are kept in clear in the store for display (region, URL, account...).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    display_name: str
    placeholder: str
    secret: bool = False
    optional: bool = False

    @property
    def public(self) -> bool:
        return not self.secret


@dataclass(frozen=True)
class ProviderSpec:
    provider_id: str
    display_name: str
    fields: tuple[Field, ...]
    path_name: str
    path_placeholder: str

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def secret_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.secret)

    @property
    def required(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.optional)


PROVIDERS: dict[str, ProviderSpec] = {
    "aws": ProviderSpec(
        "aws",
        "AWS Secrets Manager",
        (
            Field("accessKeyId", "Access Key ID", "access-key", secret=True),
            Field("secretAccessKey", "Secret Access Key", "secret-key", secret=True),
            Field("region", "Region", "us-east-1"),
        ),
        "path",
        "secret-name:secret-json-key",
    ),
    "hashicorp": ProviderSpec(
        "hashicorp",
        "Hashicorp Vault",
        (
            Field("url", "Vault URL", "http://localhost:8200"),
            Field("namespace", "Namespace", "namespace", optional=True),
            Field("roleId", "Role ID", "role-id", secret=True),
            Field("secretId", "Secret ID", "secret-id", secret=True),
        ),
        "path",
        "eg: secret/data/keys/my-key",
    ),
    "cyberark-conjur": ProviderSpec(
        "cyberark-conjur",
        "Cyberark Conjur",
        (
            Field("organizationAccountName", "Organization Account Name", "account"),
            Field("loginId", "Login ID", "host/app/ci"),
            Field("url", "Conjur URL", "https://conjur.example.com"),
            Field("apiKey", "API Key", "api-key", secret=True),
        ),
        "secretKey",
        "prod/db/password",
    ),
    "onepassword": ProviderSpec(
        "onepassword",
        "1Password",
        (Field("serviceAccountToken", "Service Account Token", "ops_...", secret=True),),
        "path",
        "op://vault/item/field",
    ),
}

PROVIDER_IDS: tuple[str, ...] = tuple(PROVIDERS)
