"""Base classes real providers build on."""

from .OpenaiTemplate import OpenaiTemplate
