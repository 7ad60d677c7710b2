"""A ZIP archive written as it is sent: entries go through a small buffer drained after
every chunk, so neither the archive nor a whole file is ever held in memory."""

import zipfile
from contextlib import closing
from datetime import UTC

from portal.models.base import utcnow

#: Bytes read from a stored file at a time.
CHUNK = 256 * 1024


class _Sink:
    """A write-only, non-seekable file: what is written waits in `parts` until drained."""

    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, data):
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def tell(self):
        return self.size

    def flush(self):
        pass

    def drain(self):
        data, self.parts = b"".join(self.parts), []
        return data


def zip_stream(entries):
    """Yield the bytes of a ZIP of `entries`: (name, content, modified datetime or None),
    the content bytes, text (stored as UTF-8), an iterable of either (written as it comes)
    or a callable returning an open binary file (copied CHUNK bytes at a time)."""
    sink = _Sink()
    # Level 1: most stored files (images, PDFs) are compressed already; text still shrinks.
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content, modified in entries:
            info = zipfile.ZipInfo(name, _date_time(modified))
            info.compress_type = zipfile.ZIP_DEFLATED
            info._compresslevel = 1  # ZipInfo has no public spelling of it
            with archive.open(info, "w", force_zip64=True) as entry:
                if isinstance(content, str | bytes):
                    entry.write(_bytes(content))
                elif callable(content):
                    with closing(content()) as source:
                        while chunk := source.read(CHUNK):
                            entry.write(chunk)
                            yield sink.drain()
                else:
                    for chunk in content:
                        entry.write(_bytes(chunk))
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()


def _bytes(chunk):
    return chunk.encode() if isinstance(chunk, str) else chunk


def _date_time(moment):
    moment = (moment or utcnow()).astimezone(UTC)
    return (
        max(moment.year, 1980),
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )
