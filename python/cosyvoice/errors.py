"""Exceptions: one per C status (cosyvoice_status), all subclasses of cosyvoice.Error."""


class Error(Exception):
    """A failed call into libcosyvoice. `str(e)` is the library's message (it names the file, field
    or argument involved); `status` is the C status value and `code` its name."""

    status = -1
    code = "error"

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class InternalError(Error):
    status, code = 1, "internal"


class InvalidArgumentError(Error, ValueError):
    status, code = 2, "invalid_argument"


class InvalidAudioError(Error, ValueError):
    status, code = 3, "invalid_audio"


class BundleError(Error):
    status, code = 4, "bundle"


class IoError(Error):
    status, code = 5, "io"


class BackendError(Error, RuntimeError):
    status, code = 6, "runtime"


class CancelledError(Error):
    status, code = 7, "cancelled"


class UnsupportedError(Error):
    status, code = 8, "unsupported"


BY_STATUS = {cls.status: cls for cls in (InternalError, InvalidArgumentError, InvalidAudioError, BundleError, IoError,
                                         BackendError, CancelledError, UnsupportedError)}


def from_status(status, message):
    cls = BY_STATUS.get(status, Error)
    return cls(message, status)
