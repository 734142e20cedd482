"""Providers that need an API key or a login."""

from .OpenaiAPI import OpenaiAPI
