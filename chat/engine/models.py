"""Model names to endpoints and prices: bare names from pricing.yaml, anything else 'endpoint:model'."""
from __future__ import annotations

from dataclasses import dataclass

from chat.engine.endpoints import Endpoint, all_endpoints
from chat.engine.pricing import Price, PriceTable
from chat.wording import Worded

LOCAL_DEFAULT = "smollm2-135m-instruct"


MAX_NAME = 200  # the longest model name taken (the longest real ones, Bedrock ARNs, are about 100)


class UnknownModel(Worded):
    """The name matches no priced model and no endpoint (an edge words it in the reader's language)."""


@dataclass(frozen=True)
class Model:
    name: str  # as the user wrote it and as logged
    endpoint: Endpoint
    api_model: str  # what the endpoint's API is sent
    price: Price | None

    @property
    def context_window(self) -> int | None:
        if self.price and self.price.context_window:
            return self.price.context_window
        if self.endpoint.facts.local:
            from chat.engine.providers.local_llama import context_size

            return context_size()
        return None

    @property
    def takes_temperature(self) -> bool:
        return self.price is None or self.price.sampling

    def status(self) -> tuple[bool, str]:
        usable, why = self.endpoint.status()
        if usable and self.endpoint.facts.local:
            from chat.engine.providers.local_llama import availability

            return availability(self.api_model)  # the file itself, and whether its process could load it
        return usable, why


def resolve(name: str, prices: PriceTable) -> Model:
    name = (name or "").strip()
    if not name:
        raise UnknownModel("no model given; pass a name such as gpt-4o-mini or ollama:llama3.2 (see: python -m chat models)")
    if len(name) > MAX_NAME or any(c < " " for c in name):
        shown = "".join(c if c >= " " else "?" for c in name[:40])
        raise UnknownModel("the model name {shown} is {n} characters or holds control characters; a model name is at "
                           "most {most} printable characters", shown=repr(shown) + ("…" if len(name) > 40 else ""),
                           n=f"{len(name):,}", most=MAX_NAME)
    endpoints = all_endpoints()
    price = prices.get(name)
    alias = prices.alias(name) if price is None else None
    if alias is not None:
        prefix, sep, rest = name.partition(":")
        if sep and prefix in endpoints and rest:
            return Model(name, endpoints[prefix], rest, alias)  # 'azure:my-deployment' priced as gpt-4o
        endpoint = endpoints.get(alias.provider)
        if endpoint is None:
            raise UnknownModel("pricing.yaml prices alias {name} as {model}, whose provider {provider} is no known "
                               "endpoint", name=repr(name), model=repr(alias.priced_as), provider=repr(alias.provider))
        return Model(name, endpoint, resolve(alias.priced_as, prices).api_model, alias)  # a nickname for the model
    if price is not None:
        prefix, sep, rest = name.partition(":")
        # 'ollama:llama3.2' priced as such is sent as 'llama3.2'; Bedrock ids keep their own colons
        api_model = rest if sep and prefix == price.provider else name
        endpoint = endpoints.get(price.provider)
        if endpoint is None:
            raise UnknownModel("pricing.yaml gives model {name} the provider {provider}, which is no known endpoint",
                               name=repr(name), provider=repr(price.provider))
        return Model(name, endpoint, api_model, price)
    endpoint_name, sep, api_model = name.partition(":")
    if not sep or not api_model:
        raise UnknownModel("unknown model {name}: it is not in pricing.yaml, so name its endpoint as endpoint:model "
                           "(e.g. openai:{bare} or ollama:{bare}); endpoints: {endpoints}", name=repr(name), bare=name,
                           endpoints=", ".join(endpoints))
    endpoint = endpoints.get(endpoint_name)
    if endpoint is None:
        raise UnknownModel("unknown endpoint {endpoint} in {name}; known: {endpoints} (add your own with "
                           "CHAT_ENDPOINTS=name=http://host/v1)", endpoint=repr(endpoint_name), name=repr(name),
                           endpoints=", ".join(endpoints))
    price = None
    family_price = prices.get(api_model)
    if family_price is None and endpoint.facts.aws:
        from chat.engine.providers.bedrock_converse import base_model_id

        family_price = prices.get(base_model_id(api_model))  # a cross-region profile costs what its model does
    if family_price is not None and family_price.provider in (endpoint.name, endpoint.price_family):
        price = family_price
    if price is None:
        price = prices.endpoint_price(endpoint.name)  # a self-hosted server priced by its machine's hour
    if price is None:
        from chat.engine.bundled_prices import price_for

        price = price_for(name, endpoint, api_model)  # pricing.yaml has nothing: genai-prices' bundled data
    return Model(name, endpoint, api_model, price)


def listed(prices: PriceTable, default: str | None = None) -> list[Model]:
    """Every model worth offering: the priced ones, each on its endpoint, and the default model if it is not priced."""
    out = []
    for price in [*prices, *(prices.alias(name) for name in prices.aliases)]:
        try:
            out.append(resolve(price.model, prices))
        except UnknownModel:
            continue
    if default and default not in prices:
        try:
            out.append(resolve(default, prices))
        except UnknownModel:
            pass  # an unknown default is reported when it is used
    return out
