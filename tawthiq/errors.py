"""The one root of tawthiq's errors, and what each kind of error means to a script and to a browser.

Every error tawthiq raises on purpose is a `TawthiqError` of one kind. The kind decides the CLI's
exit status and the web app's HTTP status in one place (the CLI's handler in `tawthiq.cli`, the web
app's in `tawthiq.web.app`), so no command or route maps errors by hand:

=================  ====  ====  ==========================================================
kind               exit  HTTP  means
=================  ====  ====  ==========================================================
UserError          2     400   the request itself is wrong: a bad spec, query, option, file
NotFound           2     404   it names something that is not there (a post, a source, an
                               index not built yet); exit 2 as for any mistake in the
                               command, which the README and the tests promise
ConfigError        2     500   the operator's settings or sources.yaml are wrong: the
                               person running the command can fix it, a web client cannot
Unavailable        75    503   a service it needs is down or busy (Elasticsearch, Redis, a
                               locked index); 75 is sysexits' EX_TEMPFAIL, "try again
                               later" (3 already means INTACT BUT UNPROVEN for verify)
IntegrityFailure   1     422   stored bytes are not what they must be (a record that does
                               not parse, a catalogued file that is gone); exit 1 as for a
                               capture with failures and a FAILED verify
TawthiqError       1     500   raised as is only where no kind fits (a worker stopped by
                               an unexpected failure): one line, never a traceback
=================  ====  ====  ==========================================================

`tawthiq verify` keeps its own verdict statuses (0 VERIFIED, 3 INTACT BUT UNPROVEN, 1 FAILED),
which are results, not errors; exit 2 is still a mistake in the command.

Each concrete error (SpecError, SearchError, ...) subclasses its kind and also the builtin it was
before (ValueError, LookupError, RuntimeError), so `except ValueError` callers keep working.

This module is a leaf: it imports nothing of the project, so every room (crawlers, archivers,
dedupe, index) may import it without depending on the glue (see the import-linter contracts).
"""

from __future__ import annotations

from typing import ClassVar


class TawthiqError(Exception):
    """An error tawthiq raises on purpose: its message is for people, its kind for programs."""

    kind: ClassVar[str] = "error"
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def message(self) -> str:
        """The one line a person reads (the CLI prints it after `error:`, the web app as detail)."""
        return str(self)

    def cli_message(self) -> str:
        """What the CLI prints; may add lines a terminal shows well (e.g. a caret under a query)."""
        return self.message()


class UserError(TawthiqError):
    """The request is wrong: a bad spec, query, option value or input file."""

    kind = "user"
    exit_code = 2
    http_status = 400


class NotFound(TawthiqError):
    """What the request names is not there."""

    kind = "not_found"
    exit_code = 2
    http_status = 404


class ConfigError(TawthiqError):
    """The operator's settings or sources file are wrong: not the web client's fault."""

    kind = "config"
    exit_code = 2
    http_status = 500


class Unavailable(TawthiqError):
    """A service tawthiq needs is down, busy or unreachable: try again later."""

    kind = "unavailable"
    exit_code = 75  # EX_TEMPFAIL
    http_status = 503


class IntegrityFailure(TawthiqError):
    """Stored bytes are not what they must be: evidence that does not read back as it should."""

    kind = "integrity"
    exit_code = 1
    http_status = 422


KINDS: tuple[type[TawthiqError], ...] = (UserError, NotFound, ConfigError, Unavailable, IntegrityFailure)
