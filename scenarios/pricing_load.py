"""load_price_book: a price book (dict, DictConfig or YAML path) to a validated PriceBook; the books in configs/pricing/."""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Union

from omegaconf import DictConfig, ListConfig, OmegaConf

from scenarios.coerce import build
from scenarios.errors import Problems, ScenarioError
from scenarios.fields import document_order, not_one_of
from scenarios.load import _container, _plain
from scenarios.pricing import PriceBook, Rate
from scenarios.yamlpath import describe, index, is_within, key, num

ROOT = Path(__file__).resolve().parents[1]
PRICING_DIR = ROOT / "configs" / "pricing"
CURRENCIES = ("USD",)  # AWS list prices; the billing engine adds no exchange rates

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")

BookSource = Union[Mapping, DictConfig, PriceBook, str, os.PathLike]


def price_book_path(region: str) -> Path:
    """Where Region `region`'s price book lives: `<repo>/configs/pricing/<region>.yaml` (it may not exist)."""
    return PRICING_DIR / f"{region}.yaml"


def available_regions() -> List[str]:
    """The Regions that have a price book in configs/pricing/, sorted."""
    return sorted(p.stem for p in PRICING_DIR.glob("*.yaml"))


def load_region(region: str) -> PriceBook:
    """The validated price book of Region `region`; raises ScenarioError (at `region`) when there is none."""
    regions = available_regions()
    if region not in regions:
        text = f"no price book for {region!r}; available: {', '.join(regions) or 'none'}"
        close = difflib.get_close_matches(str(region), regions, n=1, cutoff=0.6)
        if close:
            text += f" (did you mean {close[0]!r}?)"
        raise ScenarioError([("region", text)])
    path = price_book_path(region)
    book = load_price_book(path)
    if book.region != region:
        raise ScenarioError([("pricing.region", f"{book.region!r} does not match the file {path.name};"
                                                f" a book's region must be its file name")])
    return book


def load_price_book(src: BookSource, path_prefix: str = "pricing") -> PriceBook:
    """A validated PriceBook from a mapping, a DictConfig (from Hydra pass `cfg.pricing`), a PriceBook or a YAML path.

    Raises ScenarioError listing every mistake, each at its YAML path under `path_prefix`
    (such as `pricing.services.AWSLambda.Request.tiers[0].usd`); pass "" for paths from the book's top level.
    """
    data = _read(src, path_prefix)
    problems = Problems()
    book = build(PriceBook, data, path_prefix, problems)
    _check_required_keys(data, path_prefix, problems)
    _check_book(book, path_prefix, problems)
    for service, rates in book.services.items():
        service_path = key(key(path_prefix, "services"), service)
        for usage_type, rate in rates.items():
            _check_rate(rate, key(service_path, usage_type), problems)
    _check_free_tier(book, path_prefix, problems)
    problems.sort(_document_order(book, path_prefix))
    problems.raise_if_any()
    return book


def usd_text(value: float) -> str:
    """A price as written in a book: 0.0000002, not 2e-07."""
    return format(Decimal(str(value)), "f")


def amount_text(value: float) -> str:
    """A quantity as a person writes it: 400000, 0.5, and large round ones as 6e9 or 1.875e10."""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e6:
        mantissa, exponent = f"{value:.15e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return num(value)


# --- reading -------------------------------------------------------------------------------


def _read(src: Any, prefix: str) -> Any:
    if isinstance(src, PriceBook):
        return dataclasses.asdict(src)
    if isinstance(src, (DictConfig, ListConfig)):
        return _container(src)
    if isinstance(src, Mapping):
        return _plain(src)
    if isinstance(src, (str, os.PathLike)):
        return _read_yaml(Path(src), prefix)
    raise ScenarioError([(prefix, "expected a price book mapping, a DictConfig, a PriceBook or a YAML file path;"
                                  f" got {describe(src)}")])


def _read_yaml(path: Path, prefix: str) -> Any:
    if not path.is_file():
        raise ScenarioError([(prefix, f"price book file {str(path)!r} does not exist")])
    try:
        cfg = OmegaConf.load(path)
    except Exception as e:  # the YAML parser's message names the line and column
        raise ScenarioError([(prefix, f"cannot read {str(path)!r}: {e}")]) from e
    data = _container(cfg)
    if isinstance(data, dict):
        data.pop("defaults", None)  # Hydra's defaults list, meaningful only when Hydra composes the file
    return data


# --- checks ------------------------------------------------------------------------------


def _check_required_keys(data: Any, prefix: str, problems: Problems) -> None:
    """Every tier must write both `up_to` and `usd`: a forgotten price must not silently be free."""
    services = data.get("services") if isinstance(data, Mapping) else None
    if not isinstance(services, Mapping):
        return
    for service, rates in services.items():
        if not isinstance(rates, Mapping):
            continue
        for usage_type, rate in rates.items():
            tiers = rate.get("tiers") if isinstance(rate, Mapping) else None
            if not isinstance(tiers, (list, tuple)):
                continue
            tiers_path = key(key(key(key(prefix, "services"), service), usage_type), "tiers")
            for i, tier in enumerate(tiers):
                if not isinstance(tier, Mapping):
                    continue
                if "usd" not in tier:
                    problems.add(key(index(tiers_path, i), "usd"), "missing; write the price of one unit in USD")
                if "up_to" not in tier:
                    problems.add(key(index(tiers_path, i), "up_to"),
                                 "missing; write the cumulative monthly amount where this tier ends"
                                 " (null for the last, open tier)")


def _check_book(book: PriceBook, prefix: str, problems: Problems) -> None:
    region_path = key(prefix, "region")
    if not book.region:
        problems.add(region_path, "must not be empty; write the AWS Region code, such as us-east-1")
    elif not _REGION.fullmatch(book.region):
        problems.add(region_path, f"{book.region!r} does not look like an AWS Region code such as us-east-1")
    if book.currency not in CURRENCIES:
        if book.currency.upper() in CURRENCIES:
            message = f"{book.currency!r} must be written {book.currency.upper()!r}"
        else:
            message = f"{not_one_of(book.currency, 'currency', CURRENCIES)} (AWS list prices are in USD)"
        problems.add(key(prefix, "currency"), message)
    services_path = key(prefix, "services")
    if not book.services and not problems.is_broken(services_path):
        problems.add(services_path, "the book has no rates; list them as SERVICE: {USAGE_TYPE: {unit, tiers}}")
    for service, rates in book.services.items():
        if not rates:
            problems.add(key(services_path, service), "has no usage types")


def _check_rate(rate: Rate, path: str, problems: Problems) -> None:
    if not rate.unit.strip():
        problems.add(key(path, "unit"), "must not be empty; name what the meter counts, such as Requests,"
                                        " GB-Seconds, GB or Hrs")
    tiers_path = key(path, "tiers")
    if problems.is_broken(tiers_path):
        return
    if not rate.tiers:
        problems.add(tiers_path, "must list at least one tier, such as [{up_to: null, usd: 0.0000002}]")
        return
    last = len(rate.tiers) - 1
    previous = None  # the up_to of the closest earlier tier that has a valid one
    for i, tier in enumerate(rate.tiers):
        tier_path = index(tiers_path, i)
        if problems.is_broken(tier_path):
            continue
        usd_path = key(tier_path, "usd")
        if not problems.has(usd_path) and tier.usd < 0:
            problems.add(usd_path, f"{usd_text(tier.usd)} must not be negative")
        up_path = key(tier_path, "up_to")
        if problems.has(up_path):
            continue
        if tier.up_to is None:
            if i != last:
                problems.add(up_path, f"only the last tier may be open (null); this is tier {i + 1} of {last + 1}")
            continue
        if tier.up_to <= 0:
            problems.add(up_path, f"{amount_text(tier.up_to)} must be greater than 0")
        elif previous is not None and tier.up_to <= previous:
            problems.add(up_path, f"{amount_text(tier.up_to)} is not above the previous tier's {amount_text(previous)}")
        if i == last:
            problems.add(up_path, f"the last tier must be open (up_to: null), or usage above"
                                  f" {amount_text(tier.up_to)} would have no price")
        previous = tier.up_to


def _check_free_tier(book: PriceBook, prefix: str, problems: Problems) -> None:
    rates: Dict[str, Rate] = {f"{s}/{u}": r for s, by_type in book.services.items() for u, r in by_type.items()}
    for name, pool in book.free_tier.items():
        pool_path = key(key(prefix, "free_tier"), name)
        if pool.amount < 0:
            problems.add(key(pool_path, "amount"), f"{amount_text(pool.amount)} must not be negative")
        if not pool.unit.strip():
            problems.add(key(pool_path, "unit"), "must not be empty; it must be the unit of the usage types it covers")
        applies_path = key(pool_path, "applies_to")
        if problems.is_broken(applies_path):
            continue
        if not pool.applies_to:
            problems.add(applies_path, "must name at least one usage type as SERVICE/USAGE_TYPE, such as AWSLambda/Request")
        seen: Dict[str, int] = {}
        for i, ref in enumerate(pool.applies_to):
            ref_path = index(applies_path, i)
            if ref is None or problems.is_broken(ref_path):
                continue
            rate = rates.get(ref)
            if rate is None:
                problems.add(ref_path, _unknown_usage_type(ref, rates))
            elif ref in seen:
                problems.add(ref_path, f"{ref} is listed twice (first at [{seen[ref]}])")
            elif pool.unit.strip() and rate.unit.strip() and rate.unit != pool.unit:
                problems.add(ref_path, f"{ref} is counted in {rate.unit}, but this pool in {pool.unit}")
            seen.setdefault(ref, i)


def _unknown_usage_type(ref: str, rates: Dict[str, Rate]) -> str:
    if "/" not in ref:
        matches = [name for name in rates if name.split("/", 1)[1] == ref]
        hint = f" (did you mean {matches[0]!r}?)" if len(matches) == 1 else ""
        return f"{ref!r} must be written SERVICE/USAGE_TYPE, such as 'AWSLambda/Request'{hint}"
    text = f"{ref!r} is not a usage type in this book"
    close = difflib.get_close_matches(ref, list(rates), n=1, cutoff=0.6)
    if close:
        text += f" (did you mean {close[0]!r}?)"
    return text


def _document_order(book: PriceBook, prefix: str) -> Callable[[str], int]:
    """document_order for a book whose paths start at `prefix`."""
    order = document_order(book)

    def under_prefix(path: str) -> int:
        if prefix and is_within(path, prefix):
            path = path[len(prefix):].lstrip(".")
        return order(path)

    return under_prefix
