"""Activepieces' connection fields per provider (DTO ``*ProviderConfigSchema`` + UI metadata).

Pure data: no SDK imports. ``secret`` marks fields aptui never shows, logs or takes from argv;
``public`` fields are kept in clear in the store for display (region, URL, account...).
``extension`` fields are aptui's own (an AWS endpoint override, a CA bundle, the plain-http lab
flag): stored with the connection, shown as aptui-only, never sent to Activepieces.
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
    extension: bool = False

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
            Field("endpoint", "Endpoint override (aptui only; not AWS)", "http://127.0.0.1:5000", optional=True,
                  extension=True),
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
            Field("caBundle", "CA bundle file (aptui only)", "/etc/ssl/private-ca.pem", optional=True, extension=True),
            Field("allowHttp", "Allow plain http:// to a non-loopback host (aptui only; labs)", "false",
                  optional=True, extension=True),
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
            Field("caBundle", "CA bundle file (aptui only)", "/etc/ssl/private-ca.pem", optional=True, extension=True),
            Field("allowHttp", "Allow plain http:// to a non-loopback host (aptui only; labs)", "false",
                  optional=True, extension=True),
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
TRUE = {"1", "true", "yes", "on"}


def upstream_config(provider_id: str, config: dict[str, str]) -> dict[str, str]:
    """The config without aptui's extension fields: what Activepieces is sent."""
    spec = PROVIDERS.get(provider_id)
    if spec is None:
        return dict(config)
    return {k: v for k, v in config.items() if not ((f := spec.field(k)) is not None and f.extension)}


def flag(config: dict[str, str], name: str) -> bool:
    """An extension flag field (``allowHttp``): true for 1/true/yes/on."""
    return str(config.get(name, "")).strip().lower() in TRUE
