"""What the UBL and CII writers share: children named by prefixed tags, optional children,
and decimals as xs:decimal wants them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml import etree

Element = Any  # lxml ships no type hints


@dataclass(frozen=True)
class Tags:
    """Element names by prefix (`cbc:ID`), in one syntax's namespaces."""

    namespaces: dict[str | None, str]  # lxml names the default namespace None

    def sub(self, parent: Element, tag: str, text: str | None = None, **attributes: str) -> Any:
        """A child element; keyword order is attribute order."""
        prefix, name = tag.split(":")
        element = etree.SubElement(parent, f"{{{self.namespaces[prefix]}}}{name}", attributes)
        element.text = text
        return element

    def optional(self, parent: Element, tag: str, text: str | None) -> None:
        if text is not None:
            self.sub(parent, tag, text)


def number(value: Decimal) -> str:
    """As the Decimal holds it, never in scientific notation (1E+1 is not an xs:decimal)."""
    return format(value, "f")
