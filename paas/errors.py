"""Errors a user can act on. Each carries a stable exit code and an optional hint."""

from __future__ import annotations


class PaasError(Exception):
    """Base error: `message` says what failed and why, `hint` what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InvalidInput(PaasError):
    exit_code = 2


class NotFound(PaasError):
    exit_code = 3


class Conflict(PaasError):
    exit_code = 4


class NameNotFreed(PaasError):
    """A name whose previous app left images or containers still to be removed. Not a
    Conflict: no app has the name, and nobody may take it over with what it left."""

    exit_code = 4


class LockTimeout(PaasError):
    exit_code = 5


class BuildFailed(PaasError):
    exit_code = 6


class DeployFailed(PaasError):
    exit_code = 7


class ServiceUnavailable(PaasError):
    """A part paas drives (dockerd, nginx, sshd, git) is missing or not answering."""

    exit_code = 8


class AccessDenied(PaasError):
    exit_code = 13


class Aborted(PaasError):
    exit_code = 130
