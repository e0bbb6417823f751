"""Named endpoints: where each model is served, how to reach it, and whether it can be used now."""
from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

from chat.engine.protocols import Protocol, ProtocolName, facts, protocol
from chat.engine.providers.base import Provider
from chat.engine.settings import env as _env
from chat.engine.settings import timeouts
from chat.wording import Said

AZURE_DEFAULT_API_VERSION = "2024-10-21"
AZURE_AI_DEFAULT_API_VERSION = "2024-05-01-preview"  # Azure AI Foundry's model inference API


@dataclass(frozen=True)
class Endpoint:
    name: str
    protocol: ProtocolName  # the wire protocol; its facts are in the registry (chat/engine/protocols.py)
    base_url: str | None = None
    key_var: str | None = None
    key_required: bool = True
    price_family: str | None = None  # whose bare-name prices apply to models served here

    @property
    def facts(self) -> Protocol:
        return facts(self.protocol)

    def status(self) -> tuple[bool, str]:
        """(usable now, reason if not)."""
        return self.facts.status(self)

    def resolved_base_url(self) -> str | None:
        if self.facts.base_url_var:
            return _env(self.facts.base_url_var)
        if self.name == "openai":
            return _env("OPENAI_BASE_URL") or self.base_url
        if self.name == "anthropic":
            return _env("ANTHROPIC_BASE_URL") or self.base_url
        override = _env(f"{self.name.upper().replace('-', '_')}_BASE_URL")
        return override or self.base_url


def _aws_file(kind: str) -> Path:
    default = Path.home() / ".aws" / kind
    return Path(_env("AWS_SHARED_CREDENTIALS_FILE" if kind == "credentials" else "AWS_CONFIG_FILE") or default)


def _aws_status() -> tuple[bool, str]:
    """The AWS chain's region and credentials, looked for without importing boto3 (which resolves them for real)."""
    if importlib.util.find_spec("boto3") is None:
        return False, Said("install the Bedrock extra: pip install 'anthropic[bedrock]' (it brings boto3)")
    config = _aws_file("config")
    profile = _env("AWS_PROFILE") or "default"
    config_text = config.read_text(errors="replace") if config.is_file() else ""
    if not (_env("AWS_REGION") or _env("AWS_DEFAULT_REGION") or "region" in config_text):
        return False, Said("set AWS_REGION in .env (or region in ~/.aws/config)")
    sources = (_env("AWS_ACCESS_KEY_ID"), _env("AWS_PROFILE"), _env("AWS_WEB_IDENTITY_TOKEN_FILE"),
               _env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), _env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
               _aws_file("credentials").is_file() or f"[profile {profile}]" in config_text or "sso_" in config_text)
    if not any(sources):
        return False, Said("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in .env, or configure "
                           "~/.aws/credentials")
    return True, ""


def _key_status(endpoint: Endpoint) -> tuple[bool, str]:
    if endpoint.name == "openai" and _env("OPENAI_BASE_URL") and not _env("OPENAI_API_KEY"):
        return True, ""  # a compatible server behind OPENAI_BASE_URL often needs no key
    if endpoint.key_required and endpoint.key_var and not _env(endpoint.key_var):
        return False, Said("set {names} in .env", names=endpoint.key_var)
    return True, ""


def _vars_status(needed: tuple[str, ...], template: str = "set {names} in .env"):
    def status(endpoint: Endpoint) -> tuple[bool, str]:
        missing = [v for v in needed if not _env(v)]
        return (False, Said(template, names=" and ".join(missing))) if missing else (True, "")

    return status


def _local_status(endpoint: Endpoint) -> tuple[bool, str]:
    if importlib.util.find_spec("llama_cpp") is None:
        return False, Said("install llama-cpp-python (pip install -r requirements.txt)")
    return True, ""


def is_bedrock_claude(model_id: str) -> bool:
    """Claude on Bedrock ('anthropic.claude-…' or a profile 'us.anthropic.claude-…') speaks the Messages API."""
    from chat.engine.providers.bedrock_converse import base_model_id

    return base_model_id(model_id).startswith("anthropic.")


BUILTIN = [
    Endpoint("local", "local", key_required=False, price_family="local"),
    Endpoint("openai", "openai", key_var="OPENAI_API_KEY", price_family="openai"),
    Endpoint("azure", "azure", key_var="AZURE_OPENAI_API_KEY", price_family="openai"),
    Endpoint("anthropic", "anthropic", key_var="ANTHROPIC_API_KEY", price_family="anthropic"),
    Endpoint("bedrock", "bedrock", price_family="bedrock"),  # Claude by Messages, every other model by Converse
    Endpoint("bedrock-converse", "converse", price_family="bedrock"),  # every model, Claude too, by Converse
    # Azure AI Foundry's catalogue (Llama, Mistral, Phi, DeepSeek): OpenAI-shaped, with an api-key header and api-version
    Endpoint("azure-ai", "azure-ai", key_var="AZURE_AI_API_KEY", price_family="azure-ai"),
    Endpoint("gemini", "openai", "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY", price_family="gemini"),
    Endpoint("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    Endpoint("ollama", "openai", "http://localhost:11434/v1", "OLLAMA_API_KEY", key_required=False, price_family="ollama"),
]


def parse_extra(spec: str | None) -> list[Endpoint]:
    """CHAT_ENDPOINTS: 'name=base_url[|KEY_VAR]' entries separated by commas, semicolons or newlines."""
    out = []
    for item in (spec or "").replace(";", ",").replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, rest = item.partition("=")
        name = name.strip()
        url, _, key_var = rest.partition("|")
        url, key_var = url.strip(), key_var.strip() or None
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ValueError(
                f"CHAT_ENDPOINTS entry {item!r} is not 'name=http(s)://host/v1[|KEY_VAR]', "
                "e.g. CHAT_ENDPOINTS=vllm=http://localhost:8000/v1"
            )
        if ":" in name:
            raise ValueError(f"CHAT_ENDPOINTS name {name!r} may not contain ':'")
        out.append(Endpoint(name, "openai", url, key_var, key_required=bool(key_var), price_family=name))
    return out


def all_endpoints() -> dict[str, Endpoint]:
    endpoints = {e.name: e for e in BUILTIN}
    for extra in parse_extra(_env("CHAT_ENDPOINTS")):
        endpoints[extra.name] = extra  # a user entry may repoint a built-in one
    return endpoints


# a client holds the credentials it was built with: a change to these builds a new one
_AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
             "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL", "ANTHROPIC_BEDROCK_BASE_URL")
_AZURE_AI_VARS = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION", "AZURE_AI_API_VERSION")
_clients: dict = {}
_clients_lock = threading.Lock()


def build_provider(endpoint: Endpoint) -> Provider:
    """The provider for an endpoint, one per process and configuration (SDK clients are thread-safe)."""
    stall, connect, retries = timeouts()
    key = (endpoint, endpoint.resolved_base_url(), stall, connect, retries, _env(endpoint.key_var or "") or "",
           *(_env(v) for v in endpoint.facts.client_vars))
    with _clients_lock:
        if key not in _clients:
            # read= is the longest silence between bytes: a stalled stream ends as a timeout, a slow one doesn't
            _clients[key] = endpoint.facts.make(endpoint, stall, connect, retries)
        return _clients[key]


@protocol("local", status=_local_status, local=True)
def _local(endpoint: Endpoint, stall: float, connect: float, retries: int):
    from chat.engine.providers.local_llama import LocalLlama

    return LocalLlama()


@protocol("azure-ai", status=_vars_status(("AZURE_AI_ENDPOINT", "AZURE_AI_API_KEY"),
                                           "set {names} in .env (the Foundry resource's …/models address and key)"),
          client_vars=_AZURE_AI_VARS, base_url_var="AZURE_AI_ENDPOINT")
def _azure_ai(endpoint: Endpoint, stall: float, connect: float, retries: int):
    import openai

    from chat.engine.providers.openai_chat import OpenAIChat

    key = _env("AZURE_AI_API_KEY")
    client = openai.OpenAI(
        api_key=key, base_url=endpoint.resolved_base_url(), timeout=openai.Timeout(stall, connect=connect),
        max_retries=retries, default_headers={"api-key": key},
        default_query={"api-version": _env("AZURE_AI_API_VERSION") or AZURE_AI_DEFAULT_API_VERSION},
    )
    return OpenAIChat(client, "max_tokens")


@protocol("azure", status=_vars_status(("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT")), client_vars=_AZURE_AI_VARS)
def _azure(endpoint: Endpoint, stall: float, connect: float, retries: int):
    import openai

    from chat.engine.providers.openai_chat import OpenAIChat

    client = openai.AzureOpenAI(
        azure_endpoint=_env("AZURE_OPENAI_ENDPOINT"),
        api_key=_env("AZURE_OPENAI_API_KEY"),
        api_version=_env("OPENAI_API_VERSION") or AZURE_DEFAULT_API_VERSION,
        timeout=openai.Timeout(stall, connect=connect),
        max_retries=retries,
    )
    return OpenAIChat(client, "max_completion_tokens")  # as OpenAI's own API: see _openai


@protocol("openai", status=_key_status)
def _openai(endpoint: Endpoint, stall: float, connect: float, retries: int):
    import openai

    from chat.engine.providers.openai_chat import OpenAIChat

    client = openai.OpenAI(
        api_key=_env(endpoint.key_var or "") or "not-needed",
        base_url=endpoint.resolved_base_url(),
        timeout=openai.Timeout(stall, connect=connect),
        max_retries=retries,
    )
    # OpenAI's own API wants max_completion_tokens (its reasoning models refuse max_tokens); compatible
    # servers (vLLM, Ollama, Gemini, llama.cpp) know max_tokens
    official = endpoint.name == "openai" and not _env("OPENAI_BASE_URL")
    return OpenAIChat(client, "max_completion_tokens" if official else "max_tokens")


@protocol("anthropic", status=_key_status, marks_cache=True)
def _anthropic(endpoint: Endpoint, stall: float, connect: float, retries: int):
    import anthropic

    from chat.engine.providers.anthropic_messages import AnthropicMessages

    client = anthropic.Anthropic(api_key=_env("ANTHROPIC_API_KEY"), base_url=endpoint.resolved_base_url(),
                                 timeout=anthropic.Timeout(stall, connect=connect), max_retries=retries)
    return AnthropicMessages(client)


@protocol("bedrock", status=lambda endpoint: _aws_status(), aws=True, client_vars=_AWS_VARS, marks_cache=True)
def _bedrock(endpoint: Endpoint, stall: float, connect: float, retries: int):
    import anthropic

    from chat.engine.providers.anthropic_messages import AnthropicMessages

    # region, credentials and ANTHROPIC_BEDROCK_BASE_URL come from the SDK's own environment variables
    claude = AnthropicMessages(anthropic.AnthropicBedrock(timeout=anthropic.Timeout(stall, connect=connect),
                                                          max_retries=retries))
    return ByModel(is_bedrock_claude, claude, _converse(stall, connect, retries))


@protocol("converse", status=lambda endpoint: _aws_status(), aws=True, client_vars=_AWS_VARS, marks_cache=True)
def _converse_endpoint(endpoint: Endpoint, stall: float, connect: float, retries: int):
    return _converse(stall, connect, retries)


def _converse(stall: float, connect: float, retries: int):
    # imported only when a Bedrock model is used: boto3 is an optional extra
    import boto3
    from botocore.config import Config

    from chat.engine.providers.bedrock_converse import BedrockConverse

    # the standard chain finds credentials; AWS_ENDPOINT_URL_BEDROCK_RUNTIME (boto3's own variable) repoints it
    config = Config(read_timeout=stall, connect_timeout=connect, retries={"max_attempts": retries + 1, "mode": "standard"},
                    user_agent_appid="chat-meter")
    region = _env("AWS_REGION") or _env("AWS_DEFAULT_REGION")
    return BedrockConverse(boto3.session.Session().client("bedrock-runtime", region_name=region, config=config))


class ByModel:
    """Two adapters behind one endpoint, chosen per model id (Bedrock: Claude by Messages, the rest by Converse)."""

    def __init__(self, choose, when_true, when_false):
        self.choose, self.when_true, self.when_false = choose, when_true, when_false

    def stream(self, request):
        return (self.when_true if self.choose(request.model) else self.when_false).stream(request)
