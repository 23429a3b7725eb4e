"""paas: git push to deploy on a server you own."""

__version__ = "0.1.0"
