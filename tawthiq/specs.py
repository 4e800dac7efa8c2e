"""What the user asked to capture: the platform registry decides (crawlers/platforms/), each
platform claiming the spec forms it knows, `web` taking any other http(s) URL."""

from __future__ import annotations

from tawthiq.crawlers.platforms import SpecError, Target, forms, parse_spec

__all__ = ["SpecError", "Target", "forms", "parse_spec"]
