"""One exception type per kind of user error; the CLI prints one line, the API a 4xx."""


class GovqaError(Exception):
    """A problem the user can fix; its message says what to do next."""

    http_status = 400


class IndexNotFound(GovqaError):
    http_status = 404


class IndexFormatError(GovqaError):
    http_status = 409


class EmbedderMismatch(GovqaError):
    http_status = 409


class UnknownEmbedder(GovqaError):
    pass


class ParseError(GovqaError):
    """A file could not be read; the message names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class FetchError(GovqaError):
    pass


class ManifestError(GovqaError):
    pass


class NotFound(GovqaError):
    http_status = 404
